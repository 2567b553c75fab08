"""The platform's side of sessions: sign-in and re-checks read the key store on disk."""

from __future__ import annotations

import json
from pathlib import Path

from overcast.control.access_keys import KeyStore
from overcast.control.dashboard_source import key_authenticator, key_identifier
from overcast.dashboard import Identity
from overcast.durable_files import atomic_write


def test_a_key_revoked_by_another_process_is_unknown_at_once(tmp_path: Path) -> None:
    platform_keys = KeyStore(tmp_path)  # the running platform's store
    key = platform_keys.create("deployer", stages=("dev",))
    authenticate, identify = key_authenticator(platform_keys), key_identifier(platform_keys)
    signed_in = authenticate(key.access_key_id, key.secret_access_key)
    assert signed_in == Identity(key.access_key_id, stages=("dev",))
    assert authenticate(key.access_key_id, key.secret_access_key[:-1] + "?") is None
    assert identify(key.access_key_id) == signed_in

    KeyStore(tmp_path).revoke(key.access_key_id)  # `overcast keys revoke`, another process

    assert identify(key.access_key_id) is None
    assert authenticate(key.access_key_id, key.secret_access_key) is None


def test_a_viewer_may_not_roll_back_and_an_edited_scope_shows(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    key = store.create("viewer")
    identify = key_identifier(store)
    assert identify(key.access_key_id) == Identity(key.access_key_id, can_rollback=False)
    data = json.loads(store.path.read_text())
    data["keys"][0]["stacks"] = ["notes"]
    atomic_write(store.path, json.dumps(data).encode())
    assert identify(key.access_key_id) == Identity(
        key.access_key_id, can_rollback=False, stacks=("notes",)
    )
