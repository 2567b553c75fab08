"""Register, log in, refresh, log out and change passwords, on SQLite and PostgreSQL."""

from __future__ import annotations

from authcore import AuthService

from .conftest import MakeService
from .helpers import PASSWORD, bearer, body, login, register, tokens


def test_register_login_me_round_trip(service: AuthService) -> None:
    created = register(service, "Alice@Example.com")
    assert created.body == {"id": created.body["id"], "email": "alice@example.com"}

    issued = tokens(service, "alice@example.com")
    assert issued["token_type"] == "Bearer"
    assert issued["expires_in"] == 900

    me = service.me(bearer(issued["access_token"]))
    assert me.status == 200
    assert me.body == {
        "id": created.body["id"],
        "email": "alice@example.com",
        "email_verified": False,
        "scope": "notes:read notes:write",
    }


def test_token_responses_are_not_cacheable(service: AuthService) -> None:
    register(service, "a@example.com")
    result = login(service, "a@example.com")
    assert result.headers["Cache-Control"] == "no-store"


def test_registering_an_existing_email_is_a_conflict(service: AuthService) -> None:
    register(service, "a@example.com")
    again = service.register(body(email="A@EXAMPLE.COM", password=PASSWORD))
    assert again.status == 409
    assert again.body is not None
    assert again.body["field"] == "email"


def test_wrong_password_is_refused(service: AuthService) -> None:
    register(service, "a@example.com")
    result = login(service, "a@example.com", "not the password")
    assert result.status == 401
    assert result.body == {"error": "invalid_credentials", "message": "invalid email or password"}


def test_unknown_email_and_wrong_password_answer_alike(service: AuthService) -> None:
    register(service, "a@example.com")
    wrong_password = login(service, "a@example.com", "not the password")
    unknown_email = login(service, "nobody@example.com", "not the password")
    assert (unknown_email.status, unknown_email.body, dict(unknown_email.headers)) == (
        wrong_password.status,
        wrong_password.body,
        dict(wrong_password.headers),
    )


def test_unknown_email_still_costs_an_argon2_verification(service: AuthService) -> None:
    verified: list[str] = []
    real = service.passwords._hasher

    class Spy:
        def verify(self, encoded: str, password: str) -> bool:
            verified.append(encoded)
            return real.verify(encoded, password)

    service.passwords._hasher = Spy()  # type: ignore[assignment]
    login(service, "nobody@example.com", "whatever-password")
    assert verified == [service.passwords.dummy_hash]


def test_refresh_rotates_the_refresh_token(service: AuthService) -> None:
    register(service, "a@example.com")
    first = tokens(service, "a@example.com")

    rotated = service.refresh(body(refresh_token=first["refresh_token"]))
    assert rotated.status == 200
    assert rotated.body is not None
    assert rotated.body["refresh_token"] != first["refresh_token"]
    assert service.me(bearer(rotated.body["access_token"])).status == 200

    again = service.refresh(body(refresh_token=rotated.body["refresh_token"]))
    assert again.status == 200


def test_reusing_a_spent_refresh_token_revokes_the_whole_family(service: AuthService) -> None:
    register(service, "a@example.com")
    stolen = tokens(service, "a@example.com")["refresh_token"]
    legit = service.refresh(body(refresh_token=stolen))
    assert legit.body is not None

    replay = service.refresh(body(refresh_token=stolen))
    assert replay.status == 401
    assert replay.body is not None
    assert replay.body["error"] == "invalid_grant"
    # The rightful holder's newer token died with its family.
    after = service.refresh(body(refresh_token=legit.body["refresh_token"]))
    assert after.status == 401


def test_reuse_revokes_only_that_login(service: AuthService) -> None:
    register(service, "a@example.com")
    other_device = tokens(service, "a@example.com")["refresh_token"]
    stolen = tokens(service, "a@example.com")["refresh_token"]
    service.refresh(body(refresh_token=stolen))
    service.refresh(body(refresh_token=stolen))
    assert service.refresh(body(refresh_token=other_device)).status == 200


def test_unknown_refresh_token_is_refused(service: AuthService) -> None:
    result = service.refresh(body(refresh_token="not-a-token"))
    assert result.status == 401


def test_expired_refresh_token_is_refused(make_service: MakeService, clock) -> None:  # type: ignore[no-untyped-def]
    service = make_service(REFRESH_TOKEN_TTL_SECONDS="60")
    register(service, "a@example.com")
    refresh = tokens(service, "a@example.com")["refresh_token"]
    clock.advance(61)
    assert service.refresh(body(refresh_token=refresh)).status == 401


def test_logout_revokes_the_family(service: AuthService) -> None:
    register(service, "a@example.com")
    first = tokens(service, "a@example.com")["refresh_token"]
    rotated = service.refresh(body(refresh_token=first)).body
    assert rotated is not None

    assert service.logout(body(refresh_token=first)).status == 204
    assert service.refresh(body(refresh_token=rotated["refresh_token"])).status == 401


def test_logout_with_an_unknown_token_is_quietly_accepted(service: AuthService) -> None:
    assert service.logout(body(refresh_token="never-issued")).status == 204


def test_password_change_revokes_other_sessions_only(service: AuthService) -> None:
    register(service, "a@example.com")
    here = tokens(service, "a@example.com")
    elsewhere = tokens(service, "a@example.com")

    changed = service.change_password(
        bearer(here["access_token"]),
        body(current_password=PASSWORD, new_password="a whole new secret"),
    )
    assert changed.status == 200

    assert service.refresh(body(refresh_token=elsewhere["refresh_token"])).status == 401
    assert service.refresh(body(refresh_token=here["refresh_token"])).status == 200
    assert login(service, "a@example.com").status == 401
    assert login(service, "a@example.com", "a whole new secret").status == 200


def test_password_change_needs_the_current_password(service: AuthService) -> None:
    register(service, "a@example.com")
    here = tokens(service, "a@example.com")
    result = service.change_password(
        bearer(here["access_token"]),
        body(current_password="wrong password", new_password="a whole new secret"),
    )
    assert result.status == 403
    assert result.body is not None
    assert result.body["field"] == "current_password"
    assert login(service, "a@example.com").status == 200


def test_password_change_needs_an_access_token(service: AuthService) -> None:
    result = service.change_password(
        None, body(current_password=PASSWORD, new_password="a whole new secret")
    )
    assert result.status == 401
    assert result.headers["WWW-Authenticate"].startswith("Bearer")


def test_login_rehashes_when_argon2_parameters_change(make_service: MakeService, backend) -> None:  # type: ignore[no-untyped-def]
    old = make_service()
    register(old, "a@example.com")
    stored_before = old.store.find_user_by_email("a@example.com")
    assert stored_before is not None
    assert "t=1" in stored_before.password_hash

    new = make_service(ARGON2_TIME_COST="2")
    assert login(new, "a@example.com").status == 200
    stored_after = new.store.find_user_by_email("a@example.com")
    assert stored_after is not None
    assert "t=2" in stored_after.password_hash
    assert login(new, "a@example.com").status == 200
