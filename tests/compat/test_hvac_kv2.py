"""hvac, the real Vault client, against overcast's VaultApi served by uvicorn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import hvac
import hvac.exceptions
import pytest

from overcast.secrets import open_secrets
from overcast.secrets.errors import PermissionDeniedError, SecretNotFoundError
from overcast.secrets.external import external_from_env, lookup_for
from overcast.secrets.references import resolve_references
from vault_server import ServedVault


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedVault]:
    with ServedVault(open_secrets(tmp_path / "state", environ={})) as srv:
        yield srv


@pytest.fixture
def root(served: ServedVault) -> hvac.Client:
    token = served.service.initial_root_token
    assert token is not None
    client = hvac.Client(url=served.url, token=token)
    assert client.is_authenticated()
    return client


def test_health_reports_initialized_and_unsealed(served: ServedVault) -> None:
    client = hvac.Client(url=served.url)
    health = client.sys.read_health_status(method="GET")
    assert health["initialized"] is True
    assert health["sealed"] is False
    assert health["standby"] is False
    assert "version" in health
    assert client.sys.is_initialized()
    assert not client.sys.is_sealed()


def test_mounts_show_kv_version_2_at_secret(root: hvac.Client) -> None:
    mounts = root.sys.list_mounted_secrets_engines()
    assert mounts["data"]["secret/"]["type"] == "kv"
    assert mounts["data"]["secret/"]["options"]["version"] == "2"


def test_write_then_read_round_trips_with_version_metadata(root: hvac.Client) -> None:
    kv = root.secrets.kv.v2
    written = kv.create_or_update_secret(path="auth/jwt", secret={"key": "s3cr3t"})
    assert written["data"]["version"] == 1
    assert written["data"]["destroyed"] is False
    assert written["data"]["deletion_time"] == ""
    read = kv.read_secret_version(path="auth/jwt", raise_on_deleted_version=True)
    assert read["data"]["data"] == {"key": "s3cr3t"}
    assert read["data"]["metadata"]["version"] == 1
    assert read["data"]["metadata"]["created_time"].endswith("Z")


def test_missing_secret_is_invalid_path(root: hvac.Client) -> None:
    with pytest.raises(hvac.exceptions.InvalidPath):
        root.secrets.kv.v2.read_secret_version(path="nope", raise_on_deleted_version=True)
    with pytest.raises(hvac.exceptions.InvalidPath):
        root.secrets.kv.v2.read_secret_metadata(path="nope")


def test_versions_soft_delete_undelete_and_destroy(root: hvac.Client) -> None:
    kv = root.secrets.kv.v2
    for n in range(3):
        kv.create_or_update_secret(path="app/db", secret={"n": n})
    kv.delete_latest_version_of_secret(path="app/db")
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_version(path="app/db", raise_on_deleted_version=True)
    deleted = kv.read_secret_version(path="app/db", raise_on_deleted_version=False)
    assert deleted["data"]["data"] is None
    assert deleted["data"]["metadata"]["deletion_time"] != ""
    assert kv.read_secret_version(path="app/db", version=2, raise_on_deleted_version=True)["data"][
        "data"
    ] == {"n": 1}
    kv.undelete_secret_versions(path="app/db", versions=[3])
    assert kv.read_secret(path="app/db", raise_on_deleted_version=True)["data"]["data"] == {"n": 2}
    kv.delete_secret_versions(path="app/db", versions=[1])
    kv.destroy_secret_versions(path="app/db", versions=[2])
    meta = kv.read_secret_metadata(path="app/db")["data"]
    assert meta["current_version"] == 3
    assert meta["versions"]["1"]["deletion_time"] != ""
    assert meta["versions"]["2"]["destroyed"] is True
    kv.undelete_secret_versions(path="app/db", versions=[2])
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_version(path="app/db", version=2, raise_on_deleted_version=True)


def test_max_versions_drops_the_oldest(root: hvac.Client) -> None:
    kv = root.secrets.kv.v2
    kv.update_metadata(path="rot", max_versions=2)
    for n in range(4):
        kv.create_or_update_secret(path="rot", secret={"n": n})
    meta = kv.read_secret_metadata(path="rot")["data"]
    assert sorted(meta["versions"]) == ["3", "4"]
    assert meta["oldest_version"] == 3
    assert meta["max_versions"] == 2


def test_cas_mismatch_is_refused_and_cas_match_writes(root: hvac.Client) -> None:
    kv = root.secrets.kv.v2
    kv.create_or_update_secret(path="cas", secret={"a": 1}, cas=0)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="check-and-set"):
        kv.create_or_update_secret(path="cas", secret={"a": 2}, cas=0)
    assert kv.create_or_update_secret(path="cas", secret={"a": 3}, cas=1)["data"]["version"] == 2
    kv.update_metadata(path="cas", cas_required=True)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="required"):
        kv.create_or_update_secret(path="cas", secret={"a": 4})


# hvac's patch() reads without raise_on_deleted_version and warns about its own default.
@pytest.mark.filterwarnings("ignore:The raise_on_deleted_version:DeprecationWarning")
def test_patch_merges_into_a_new_version(root: hvac.Client) -> None:
    kv = root.secrets.kv.v2
    kv.create_or_update_secret(path="p", secret={"a": "1", "b": "2"})
    kv.patch(path="p", secret={"b": "3", "c": "4"})
    got = kv.read_secret(path="p", raise_on_deleted_version=True)["data"]
    assert got["data"] == {"a": "1", "b": "3", "c": "4"}
    assert got["metadata"]["version"] == 2


def test_http_merge_patch_removes_null_keys(served: ServedVault, root: hvac.Client) -> None:
    root.secrets.kv.v2.create_or_update_secret(path="mp", secret={"a": "1", "b": "2"})
    response = root.adapter.request(
        "PATCH",
        "/v1/secret/data/mp",
        json={"data": {"a": None, "c": "3"}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response["data"]["version"] == 2
    got = root.secrets.kv.v2.read_secret(path="mp", raise_on_deleted_version=True)
    assert got["data"]["data"] == {"b": "2", "c": "3"}


def test_list_shows_folders_with_trailing_slash(root: hvac.Client) -> None:
    kv = root.secrets.kv.v2
    for path in ("team/a", "team/b/x", "team/b/y", "other"):
        kv.create_or_update_secret(path=path, secret={"v": path})
    assert kv.list_secrets(path="team")["data"]["keys"] == ["a", "b/"]
    assert kv.list_secrets(path="")["data"]["keys"] == ["other", "team/"]
    strict = hvac.Client(url=root.url, token=root.token, strict_http=True)
    assert strict.secrets.kv.v2.list_secrets(path="team/b")["data"]["keys"] == ["x", "y"]
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.list_secrets(path="missing")


def test_metadata_delete_removes_every_version(root: hvac.Client) -> None:
    kv = root.secrets.kv.v2
    kv.create_or_update_secret(path="gone", secret={"a": 1})
    kv.update_metadata(path="gone", custom_metadata={"owner": "auth"})
    assert kv.read_secret_metadata(path="gone")["data"]["custom_metadata"] == {"owner": "auth"}
    kv.delete_metadata_and_all_versions(path="gone")
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_metadata(path="gone")


def test_limited_token_is_denied_outside_its_policy(served: ServedVault, root: hvac.Client) -> None:
    root.sys.create_or_update_policy(
        name="auth-read",
        policy='path "secret/data/auth/*" { capabilities = ["read"] }\n'
        'path "secret/metadata/auth/*" { capabilities = ["list"] }',
    )
    kv = root.secrets.kv.v2
    kv.create_or_update_secret(path="auth/jwt", secret={"k": "v"})
    kv.create_or_update_secret(path="billing/key", secret={"k": "w"})
    token = root.auth.token.create(policies=["auth-read"], ttl="1h")["auth"]["client_token"]
    limited = hvac.Client(url=served.url, token=token)
    lk = limited.secrets.kv.v2
    assert lk.read_secret(path="auth/jwt", raise_on_deleted_version=True)["data"]["data"] == {
        "k": "v"
    }
    with pytest.raises(hvac.exceptions.Forbidden):
        lk.read_secret(path="billing/key", raise_on_deleted_version=True)
    with pytest.raises(hvac.exceptions.Forbidden):
        lk.create_or_update_secret(path="auth/jwt", secret={"k": "evil"})
    with pytest.raises(hvac.exceptions.Forbidden):
        limited.sys.list_policies()
    with pytest.raises(hvac.exceptions.Forbidden):
        limited.auth.token.create(policies=["root"])
    bad = hvac.Client(url=served.url, token="hvs.not-a-token")
    assert not bad.is_authenticated()
    with pytest.raises(hvac.exceptions.Forbidden) as info:
        bad.secrets.kv.v2.read_secret(path="auth/jwt", raise_on_deleted_version=True)
    assert info.value.errors == ["permission denied"]


def test_bearer_header_is_accepted(served: ServedVault) -> None:
    token = served.service.initial_root_token
    response = httpx.get(
        f"{served.url}/v1/auth/token/lookup-self", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert response.json()["data"]["policies"] == ["root"]


def test_unsupported_method_is_405(served: ServedVault) -> None:
    token = served.service.initial_root_token or ""
    response = httpx.request(
        "PATCH", f"{served.url}/v1/secret/metadata/x", headers={"X-Vault-Token": token}
    )
    assert response.status_code == 405
    assert "errors" in response.json()


def test_token_create_lookup_renew_and_revoke(served: ServedVault, root: hvac.Client) -> None:
    created = root.auth.token.create(
        policies=["default"], ttl="30m", renewable=True, num_uses=0, display_name="fn"
    )["auth"]
    assert created["policies"] == ["default"]
    assert 0 < created["lease_duration"] <= 1800
    token = created["client_token"]
    looked = root.auth.token.lookup(token)["data"]
    assert looked["display_name"] == "token-fn"
    assert looked["accessor"] == created["accessor"]
    child = hvac.Client(url=served.url, token=token)
    assert child.auth.token.lookup_self()["data"]["id"] == token
    renewed = child.auth.token.renew_self(increment="1h")["auth"]
    assert renewed["lease_duration"] > 1800
    child.auth.token.revoke_self()
    assert not child.is_authenticated()
    other = root.auth.token.create(policies=["default"])["auth"]["client_token"]
    root.auth.token.revoke(other)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        root.auth.token.lookup(other)


def test_num_uses_expires_a_token_after_its_uses(served: ServedVault, root: hvac.Client) -> None:
    token = root.auth.token.create(policies=["default"], num_uses=2)["auth"]["client_token"]
    client = hvac.Client(url=served.url, token=token)
    assert client.is_authenticated()
    assert client.is_authenticated()
    assert not client.is_authenticated()


def test_policies_crud_in_both_api_forms(root: hvac.Client) -> None:
    rules = 'path "secret/data/x" { capabilities = ["read"] }'
    root.sys.create_or_update_policy(name="p1", policy=rules)
    assert "p1" in root.sys.list_policies()["data"]["policies"]
    assert root.sys.read_policy(name="p1")["data"]["rules"] == rules
    root.sys.create_or_update_acl_policy(name="p2", policy=rules)
    assert "p2" in root.sys.list_acl_policies()["data"]["keys"]
    assert root.sys.read_acl_policy(name="p2")["data"]["policy"] == rules
    root.sys.delete_policy(name="p1")
    root.sys.delete_acl_policy(name="p2")
    with pytest.raises(hvac.exceptions.InvalidPath):
        root.sys.read_policy(name="p1")
    with pytest.raises(hvac.exceptions.InvalidRequest):
        root.sys.create_or_update_policy(name="bad", policy='path "x" { capabilities = ["fly"] }')


def test_external_backend_reads_through_hvac(served: ServedVault, root: hvac.Client) -> None:
    root.secrets.kv.v2.create_or_update_secret(path="auth", secret={"jwt": "k1"})
    backend = external_from_env(
        {"OVERCAST_VAULT_ADDR": served.url, "OVERCAST_VAULT_TOKEN": root.token}
    )
    assert backend is not None
    assert backend.read("auth").data == {"jwt": "k1"}
    assert backend.list_keys() == ["auth"]
    env, values = resolve_references(
        {"K": "{{resolve:vault:secret/data/auth#jwt}}"}, lookup_for(backend)
    )
    assert env == {"K": "k1"}
    assert values == {"k1"}
    with pytest.raises(SecretNotFoundError):
        backend.read("missing")
    denied = external_from_env(
        {"OVERCAST_VAULT_ADDR": served.url, "OVERCAST_VAULT_TOKEN": "hvs.bogus"}
    )
    assert denied is not None
    with pytest.raises(PermissionDeniedError):
        denied.read("auth")
    assert external_from_env({}) is None
