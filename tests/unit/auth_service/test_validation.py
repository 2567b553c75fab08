"""Every bad input is a 400 whose JSON names the field; nothing raises."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from authcore import AuthService, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import PASSWORD, body, login, register

Call = Callable[[AuthService, str | bytes | None], Result]

OPERATIONS: dict[str, Call] = {
    "register": lambda s, b: s.register(b),
    "login": lambda s, b: s.login(b, "192.0.2.1"),
    "refresh": lambda s, b: s.refresh(b),
    "logout": lambda s, b: s.logout(b),
}

CASES = [
    ("register", None, "body"),
    ("register", "", "body"),
    ("register", "{not json", "body"),
    ("register", b"\xff\xfe", "body"),
    ("register", "[1, 2]", "body"),
    ("register", '"a string"', "body"),
    ("register", "x" * 70_000, "body"),
    ("register", body(password=PASSWORD), "email"),
    ("register", body(email="a@example.com"), "password"),
    ("register", body(email=None, password=PASSWORD), "email"),
    ("register", body(email=42, password=PASSWORD), "email"),
    ("register", body(email=["a@example.com"], password=PASSWORD), "email"),
    ("register", body(email="not-an-email", password=PASSWORD), "email"),
    ("register", body(email="a@b", password=PASSWORD), "email"),
    ("register", body(email="a b@example.com", password=PASSWORD), "email"),
    ("register", body(email="a" * 250 + "@example.com", password=PASSWORD), "email"),
    ("register", body(email="a@example.com", password="short"), "password"),
    ("register", body(email="a@example.com", password="p" * 1025), "password"),
    ("register", body(email="a@example.com", password=12345678), "password"),
    ("login", body(email="a@example.com"), "password"),
    ("login", body(password=PASSWORD), "email"),
    ("login", body(email="a@example.com", password=True), "password"),
    ("login", body(email="a@example.com", password=""), "password"),
    ("login", body(email="a@example.com", password="p" * 5000), "password"),
    ("refresh", body(), "refresh_token"),
    ("refresh", body(refresh_token=7), "refresh_token"),
    ("refresh", body(refresh_token="t" * 5000), "refresh_token"),
    ("logout", "{}", "refresh_token"),
    ("logout", "null", "body"),
]


@pytest.mark.parametrize(("operation", "payload", "field"), CASES)
def test_bad_input_is_400_naming_the_field(
    service: AuthService, operation: str, payload: str | bytes | None, field: str
) -> None:
    result = OPERATIONS[operation](service, payload)
    assert result.status == 400, result
    assert result.body is not None
    assert result.body["error"] == "invalid_request"
    assert result.body["field"] == field
    assert result.body["message"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ("{oops", "body"),
        (body(new_password="a whole new secret"), "current_password"),
        (body(current_password=PASSWORD), "new_password"),
        (body(current_password=PASSWORD, new_password="short"), "new_password"),
    ],
)
def test_bad_password_change_input_is_400(service: AuthService, payload: str, field: str) -> None:
    register(service, "a@example.com")
    tokens = login(service, "a@example.com").body
    assert tokens is not None
    result = service.change_password(f"Bearer {tokens['access_token']}", payload)
    assert result.status == 400
    assert result.body is not None
    assert result.body["field"] == field


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    payload=st.one_of(
        st.text(max_size=200),
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(
                    st.sampled_from(["email", "password", "refresh_token", "x"]), inner, max_size=4
                )
            ),
            max_leaves=8,
        ).map(json.dumps),
    ),
    operation=st.sampled_from(sorted(OPERATIONS)),
)
def test_arbitrary_input_never_raises(
    service: AuthService, payload: str | bytes, operation: str
) -> None:
    result = OPERATIONS[operation](service, payload)
    assert result.status in (200, 201, 204, 400, 401, 409, 429)
    if result.status == 400:
        assert result.body is not None
        assert isinstance(result.body["field"], str)
