"""Resolving secret references in environments, and redacting their values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from overcast.secrets.errors import SecretNotFoundError
from overcast.secrets.references import Redactor, UnresolvedReferenceError, resolve_references

SECRETS: dict[str, dict[str, Any]] = {
    "auth": {"jwt_private_key": "-----BEGIN KEY-----abc", "db_url": "postgres://u:p@h/db"},
    "single": {"value": "only-one"},
}


def lookup(path: str) -> Mapping[str, Any]:
    if path not in SECRETS:
        raise SecretNotFoundError(f"no secret at {path!r}")
    return SECRETS[path]


def test_vault_and_secretsmanager_references_resolve() -> None:
    env, values = resolve_references(
        {
            "KEY": "{{resolve:vault:secret/data/auth#jwt_private_key}}",
            "DB": "{{resolve:secretsmanager:auth:SecretString:db_url}}",
            "PLAIN": "hello",
            "MIXED": "url={{resolve:vault:secret/data/single}}!",
        },
        lookup,
    )
    assert env == {
        "KEY": "-----BEGIN KEY-----abc",
        "DB": "postgres://u:p@h/db",
        "PLAIN": "hello",
        "MIXED": "url=only-one!",
    }
    assert values == {"-----BEGIN KEY-----abc", "postgres://u:p@h/db", "only-one"}


def test_missing_key_error_names_variable_but_no_value() -> None:
    with pytest.raises(UnresolvedReferenceError) as info:
        resolve_references({"X": "{{resolve:vault:secret/data/auth#nope}}"}, lookup)
    assert "X" in info.value.message
    assert "abc" not in info.value.message


def test_missing_secret_is_unresolved() -> None:
    with pytest.raises(UnresolvedReferenceError):
        resolve_references({"X": "{{resolve:secretsmanager:ghost:SecretString:k}}"}, lookup)


def test_redactor_masks_every_value_longest_first() -> None:
    redact = Redactor(frozenset({"secret", "secret-longer", "ab"}))
    assert redact("a secret-longer and secret, ab") == "a **** and ****, ab"
    assert redact.redact_bytes(b"x secret y") == b"x **** y"
    assert Redactor(frozenset())("unchanged") == "unchanged"


@given(
    st.lists(
        st.text(st.characters(blacklist_characters="*"), min_size=4, max_size=12),
        min_size=1,
        max_size=20,
    ),
    st.text(max_size=20),
)
def test_redacted_line_contains_no_secret(values: list[str], filler: str) -> None:
    line = filler.join(values) + filler
    out = Redactor(frozenset(values))(line)
    for value in values:
        assert value not in out
