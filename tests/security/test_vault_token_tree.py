"""Finding: child tokens outlived their parents.

A token created by a token with ``explicit_max_ttl: 60s`` asked for ``ttl=87600h`` and
got it; after the parent's ``revoke-self`` the child still read secrets and reported
``orphan: false``. Vault's token tree (https://developer.hashicorp.com/vault/docs/concepts/tokens,
"Token hierarchies and orphan tokens"; api-docs/auth/token): revoking a token revokes
its children (revoke, revoke-self, revoke-accessor); ``revoke-orphan`` is root-protected
and orphans the children instead; ``no_parent`` needs root or sudo ("root or sudo
privileges required to create orphan token"), while ``create-orphan`` is governed by
its own ACL path; and the system max TTL (768h by default) caps every token. A child
never lives past its parent: its TTL and explicit max TTL are capped by what is left of
the parent's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import hvac
import hvac.exceptions
import pytest

from overcast.secrets import open_secrets
from vault_server import ServedVault

SYSTEM_MAX_TTL_S = 768 * 3600
POLICY = """
path "secret/data/*" { capabilities = ["read"] }
path "auth/token/create" { capabilities = ["update"] }
"""
ORPHAN_MAKER = """
path "secret/data/*" { capabilities = ["read"] }
path "auth/token/create-orphan" { capabilities = ["update"] }
"""
SUDO = """
path "secret/data/*" { capabilities = ["read"] }
path "auth/token/create" { capabilities = ["update", "sudo"] }
path "auth/token/revoke-orphan" { capabilities = ["update", "sudo"] }
"""
NO_SUDO = """
path "auth/token/revoke-orphan" { capabilities = ["update"] }
"""


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[ServedVault]:
    with ServedVault(open_secrets(tmp_path / "state", environ={})) as served:
        root = hvac.Client(url=served.url, token=served.root_token)
        root.secrets.kv.v2.create_or_update_secret(path="app/db", secret={"password": "pw"})
        for name, text in [("parent", POLICY), ("orphan-maker", ORPHAN_MAKER), ("sudo", SUDO),
                           ("no-sudo", NO_SUDO)]:  # fmt: skip
            root.sys.create_or_update_policy(name=name, policy=text)
        yield served


def _client(vault: ServedVault, token: str | None = None) -> hvac.Client:
    return hvac.Client(url=vault.url, token=token or vault.root_token)


def _token(client: hvac.Client, **options: object) -> str:
    token: str = client.auth.token.create(**options)["auth"]["client_token"]
    return token


def _reads_secrets(vault: ServedVault, token: str) -> bool:
    try:
        _client(vault, token).secrets.kv.v2.read_secret_version(
            path="app/db", raise_on_deleted_version=True
        )
    except hvac.exceptions.Forbidden:
        return False
    return True


def test_a_childs_ttl_is_capped_by_its_parents_explicit_max(vault: ServedVault) -> None:
    parent = _token(_client(vault), policies=["parent"], explicit_max_ttl="60s")
    child = _client(vault, parent).auth.token.create(
        policies=["parent"], ttl="87600h", explicit_max_ttl="87600h"
    )["auth"]
    assert 0 < child["lease_duration"] <= 60
    looked = _client(vault).auth.token.lookup(child["client_token"])["data"]
    assert 0 < looked["ttl"] <= 60
    assert 0 < looked["explicit_max_ttl"] <= 60
    assert looked["orphan"] is False


def test_renewing_a_child_never_passes_its_parent(vault: ServedVault) -> None:
    parent = _token(_client(vault), policies=["parent"], ttl="120s")
    child = _token(_client(vault, parent), policies=["parent"], ttl="30s")
    renewed = _client(vault, child).auth.token.renew_self(increment="87600h")["auth"]
    assert renewed["lease_duration"] <= 120


def test_the_system_max_ttl_caps_every_token(vault: ServedVault) -> None:
    looked = _client(vault).auth.token.create(policies=["parent"], ttl="87600h")["auth"]
    assert 0 < looked["lease_duration"] <= SYSTEM_MAX_TTL_S


@pytest.mark.parametrize("how", ["revoke-self", "revoke", "revoke-accessor"])
def test_revoking_a_parent_revokes_its_whole_subtree(vault: ServedVault, how: str) -> None:
    root = _client(vault)
    created = root.auth.token.create(policies=["parent"])["auth"]
    parent, accessor = created["client_token"], created["accessor"]
    child = _token(_client(vault, parent), policies=["parent"])
    grandchild = _token(_client(vault, child), policies=["parent"])
    assert _reads_secrets(vault, grandchild)
    if how == "revoke-self":
        _client(vault, parent).auth.token.revoke_self()
    elif how == "revoke":
        root.auth.token.revoke(parent)
    else:
        root.auth.token.revoke_accessor(accessor)
    for token in (parent, child, grandchild):
        assert not _reads_secrets(vault, token)
        with pytest.raises(hvac.exceptions.Forbidden):
            _client(vault, token).auth.token.lookup_self()


def test_revoked_children_stay_revoked_after_a_restart(vault: ServedVault, tmp_path: Path) -> None:
    parent = _token(_client(vault), policies=["parent"])
    child = _token(_client(vault, parent), policies=["parent"])
    _client(vault, parent).auth.token.revoke_self()
    reopened = open_secrets(tmp_path / "state", environ={})
    with ServedVault(reopened) as again:
        assert not _reads_secrets(again, child)
        assert reopened.tokens.accessors() == sorted(
            [reopened.tokens.lookup(vault.root_token)["accessor"]]
        )


def test_revoke_orphan_keeps_the_children_and_tells_them_so(vault: ServedVault) -> None:
    root = _client(vault)
    parent = _token(root, policies=["parent"])
    child = _token(_client(vault, parent), policies=["parent"])
    root.auth.token.revoke_and_orphan_children(parent)
    assert not _reads_secrets(vault, parent)
    assert _reads_secrets(vault, child)
    assert _client(vault, child).auth.token.lookup_self()["data"]["orphan"] is True


def test_revoke_orphan_needs_sudo(vault: ServedVault) -> None:
    root = _client(vault)
    victim = _token(root, policies=["parent"])
    child = _token(_client(vault, victim), policies=["parent"])
    plain = _token(root, policies=["no-sudo"])
    with pytest.raises(hvac.exceptions.Forbidden):
        _client(vault, plain).auth.token.revoke_and_orphan_children(victim)
    assert _reads_secrets(vault, victim)
    sudo = _token(root, policies=["sudo"])
    _client(vault, sudo).auth.token.revoke_and_orphan_children(victim)
    assert _reads_secrets(vault, child)


def test_no_parent_needs_root_or_sudo(vault: ServedVault) -> None:
    root = _client(vault)
    parent = _token(root, policies=["parent"], ttl="60s")
    with pytest.raises(hvac.exceptions.InvalidRequest, match="root or sudo"):
        _client(vault, parent).auth.token.create(policies=["parent"], no_parent=True)
    sudo = _token(root, policies=["sudo"], ttl="60s")
    orphan = _client(vault, sudo).auth.token.create(policies=["sudo"], no_parent=True, ttl="2h")[
        "auth"
    ]
    assert orphan["orphan"] is True
    assert orphan["lease_duration"] > 60
    _client(vault, sudo).auth.token.revoke_self()
    assert _reads_secrets(vault, orphan["client_token"])


def test_create_orphan_follows_its_own_acl_path(vault: ServedVault) -> None:
    root = _client(vault)
    parent = _token(root, policies=["parent"])
    with pytest.raises(hvac.exceptions.Forbidden):
        _client(vault, parent).auth.token.create_orphan(policies=["parent"])
    maker = _token(root, policies=["orphan-maker"], ttl="60s")
    orphan = _client(vault, maker).auth.token.create_orphan(policies=["orphan-maker"], ttl="2h")[
        "auth"
    ]
    assert orphan["orphan"] is True
    assert orphan["lease_duration"] > 60
    _client(vault, maker).auth.token.revoke_self()
    assert _reads_secrets(vault, orphan["client_token"])
    looked = _client(vault, orphan["client_token"]).auth.token.lookup_self()["data"]
    assert looked["orphan"] is True


def test_a_child_of_a_live_parent_reports_it_is_no_orphan(vault: ServedVault) -> None:
    parent = _token(_client(vault), policies=["parent"])
    child = _client(vault, parent).auth.token.create(policies=["parent"])["auth"]
    assert child["orphan"] is False
    assert _client(vault, parent).auth.token.lookup_self()["data"]["orphan"] is False
    assert _client(vault).auth.token.lookup_self()["data"]["orphan"] is True
