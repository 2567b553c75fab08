"""overcast-issued access keys: shapes, file modes, revocation, roles."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from overcast.control.access_keys import (
    AccessKeyError,
    KeyStore,
    new_key,
    read_credentials_file,
    role_allows,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_key_shapes_look_like_aws_long_term_keys() -> None:
    key = new_key("viewer")
    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", key.access_key_id)
    assert len(key.secret_access_key) == 40


def test_first_start_creates_one_admin_key_and_credentials_file(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    key = store.ensure_admin_key()
    assert key is not None
    assert key.role == "admin"
    assert read_credentials_file(store.admin_credentials_path) == (
        key.access_key_id,
        key.secret_access_key,
    )
    assert store.ensure_admin_key() is None
    assert [k.access_key_id for k in store.all()] == [key.access_key_id]


def test_nothing_in_the_access_folder_is_readable_by_others(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    store.ensure_admin_key()
    store.create("viewer")
    assert mode(store.dir) == 0o700
    for path in store.dir.iterdir():
        assert mode(path) & 0o077 == 0, path


def test_revoked_key_is_no_longer_found_by_a_running_store(tmp_path: Path) -> None:
    node_view = KeyStore(tmp_path)
    cli_view = KeyStore(tmp_path)
    key = cli_view.create("deployer")
    assert node_view.secret_for(key.access_key_id) == key.secret_access_key
    cli_view.revoke(key.access_key_id)
    assert node_view.get(key.access_key_id) is None


def test_revoking_an_unknown_key_fails(tmp_path: Path) -> None:
    with pytest.raises(AccessKeyError):
        KeyStore(tmp_path).revoke("AKIANOSUCHKEY0000000")


@pytest.mark.parametrize(
    ("role", "action", "allowed"),
    [
        ("viewer", "lambda:ListFunctions", True),
        ("viewer", "lambda:GetFunction", True),
        ("viewer", "lambda:InvokeFunction", False),
        ("deployer", "lambda:InvokeFunction", True),
        ("deployer", "lambda:UnknownOperation", False),
        ("admin", "lambda:UnknownOperation", True),
        ("admin", "lambda:InvokeFunction", True),
    ],
)
def test_roles_allow_their_actions(role: str, action: str, allowed: bool) -> None:
    assert role_allows(role, action) is allowed  # type: ignore[arg-type]
