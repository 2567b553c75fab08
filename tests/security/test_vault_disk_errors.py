"""Finding: a full or read-only disk answered the Vault API with a plain-text 500 or a traceback.

Vault answers a storage failure as it answers any error: JSON ``{"errors": ["..."]}``
with 500 (https://developer.hashicorp.com/vault/api-docs#error-response). Here every
write of the secrets store fails as the kernel would make it fail (``ENOSPC`` from
write(2), ``EROFS`` from open(2)) inside the served app; each call gets one JSON error
line that names the cause and no path, the store keeps what it had (atomic replace:
no half-written record, no temp file left), and once the disk is back all works.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import hvac
import hvac.exceptions
import pytest

from overcast import durable_files
from overcast.secrets import open_secrets
from vault_server import ServedVault


class FailingOs(SimpleNamespace):
    """``os`` as durable_files sees it, with one call failing as a full or read-only disk."""

    def __init__(self, failure: int) -> None:
        super().__init__()
        self.failure = failure

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    def write(self, fd: int, data: Any) -> int:
        if self.failure == errno.ENOSPC:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return os.write(fd, data)

    def open(self, path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        if self.failure == errno.EROFS and flags & os.O_CREAT and str(path).endswith(".tmp"):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return os.open(path, flags, mode, **kwargs)


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[ServedVault]:
    with ServedVault(open_secrets(tmp_path / "state", environ={})) as served:
        root = hvac.Client(url=served.url, token=served.root_token)
        root.secrets.kv.v2.create_or_update_secret(path="app/db", secret={"password": "v1"})
        root.sys.create_or_update_policy(name="p", policy='path "x" { capabilities = ["read"] }')
        yield served


def _writes(root: hvac.Client, victim: str) -> dict[str, Callable[[], object]]:
    kv = root.secrets.kv.v2
    return {
        "kv write": lambda: kv.create_or_update_secret(path="app/db", secret={"password": "v2"}),
        "kv patch": lambda: root.adapter.request(
            "PATCH",
            "/v1/secret/data/app/db",
            json={"data": {"password": "v2"}},
            headers={"Content-Type": "application/merge-patch+json"},
        ),
        "kv new": lambda: kv.create_or_update_secret(path="app/new", secret={"a": "b"}),
        "kv metadata": lambda: kv.update_metadata(path="app/db", max_versions=3),
        "kv delete": lambda: kv.delete_latest_version_of_secret(path="app/db"),
        "policy": lambda: root.sys.create_or_update_policy(
            name="p", policy='path "y" { capabilities = ["read"] }'
        ),
        "token create": lambda: root.auth.token.create(policies=["p"]),
        "token revoke": lambda: root.auth.token.revoke(victim),
    }


OPERATIONS = list(_writes(hvac.Client(), "").keys())


@pytest.mark.parametrize("failure", [errno.ENOSPC, errno.EROFS], ids=["ENOSPC", "EROFS"])
@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_failed_write_is_one_vault_json_error_and_changes_nothing(
    vault: ServedVault,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    operation: str,
    failure: int,
) -> None:
    root = hvac.Client(url=vault.url, token=vault.root_token)
    victim = root.auth.token.create(policies=["p"])["auth"]["client_token"]
    accessors = sorted(root.auth.token.list_accessors()["data"]["keys"])
    monkeypatch.setattr(durable_files, "os", FailingOs(failure))
    with pytest.raises(hvac.exceptions.InternalServerError) as raised:
        _writes(root, victim)[operation]()
    monkeypatch.undo()

    assert raised.value.errors == [f"storage failure: {os.strerror(failure)}"]
    state = tmp_path / "state"
    assert not [p for p in state.rglob("*") if p.name.endswith(".tmp")]
    kv = root.secrets.kv.v2
    current = kv.read_secret_version(path="app/db", raise_on_deleted_version=True)["data"]
    assert current["data"] == {"password": "v1"}
    assert current["metadata"]["version"] == 1
    assert kv.read_secret_metadata(path="app/db")["data"]["max_versions"] == 0
    assert root.sys.read_policy(name="p")["data"]["rules"].startswith('path "x"')
    assert sorted(root.auth.token.list_accessors()["data"]["keys"]) == accessors
    assert hvac.Client(url=vault.url, token=victim).is_authenticated()
    # The disk is back: the same call goes through.
    _writes(root, victim)[operation]()


def test_the_error_is_one_line_of_json_on_the_wire(
    vault: ServedVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(durable_files, "os", FailingOs(errno.ENOSPC))
    reply = vault.raw(
        "POST", "/v1/secret/data/app/db", vault.root_token, {"data": {"password": "v2"}}
    )
    assert reply.status == 500
    assert reply.body.count(b"\n") == 0
    assert reply.json() == {"errors": ["storage failure: No space left on device"]}
    assert b"Traceback" not in reply.body
    assert str(vault.service.root_token_file.parent).encode() not in reply.body


def test_an_unexpected_failure_is_still_vaults_json_shape(
    vault: ServedVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_request: object) -> object:
        raise RuntimeError("a bug with /internal/paths in its message")

    monkeypatch.setattr(vault.service.api, "dispatch", broken)
    reply = vault.raw("GET", "/v1/secret/data/app/db", vault.root_token)
    assert reply.status == 500
    assert reply.json() == {"errors": ["internal error"]}
