"""Planning a sandbox: identities, endpoints, the launcher's mounts and the zygote's seal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from overcast.runtime import sandbox
from overcast.runtime.errors import SandboxError
from overcast.runtime.sandbox import (
    UID_BASE,
    UID_SPAN,
    Endpoint,
    PortMapping,
    SandboxConfig,
    SandboxMode,
    SandboxRequest,
    egress_environment,
    identity_uid,
    parse_endpoint,
    plan,
)


def test_identities_map_to_stable_unprivileged_uids_of_their_own() -> None:
    first = identity_uid("state\ndev\nauth-service")
    assert first == identity_uid("state\ndev\nauth-service")
    assert first != identity_uid("state\nprod\nauth-service")
    assert UID_BASE <= first < UID_BASE + UID_SPAN
    assert first != os.getuid()


@pytest.mark.parametrize(
    ("text", "endpoint"),
    [
        ("127.0.0.1:5432", Endpoint("127.0.0.1", 5432)),
        ("db.internal:6379", Endpoint("db.internal", 6379)),
        ("[::1]:8080", Endpoint("::1", 8080)),
    ],
)
def test_endpoints_parse(text: str, endpoint: Endpoint) -> None:
    assert parse_endpoint(text) == endpoint
    assert str(endpoint) == text


@pytest.mark.parametrize("text", ["postgres", "host:", ":80", "host:99999", "host:http"])
def test_bad_endpoints_say_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        parse_endpoint(text)


@pytest.fixture
def code(tmp_path: Path) -> Path:
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "app.py").write_text("x = 1\n")
    return folder


# The admin port (3001) is relayed to the admin app's function-facing listener (40001).
ROOT = SandboxConfig(
    SandboxMode.ROOT, (PortMapping(Endpoint("127.0.0.1", 3001), Endpoint("127.0.0.1", 40001)),)
)


def test_the_plan_mounts_code_read_only_and_tmp_at_its_size(code: Path, tmp_path: Path) -> None:
    request = SandboxRequest("x", str(code), None, tmp_mb=1024)
    built = plan(request, ROOT, str(tmp_path / "root"))
    mounts = {m.target: m for m in built.launch.mounts}
    assert mounts["/var/task"].kind == "ro"
    assert mounts["/var/task"].source == str(code)
    assert mounts["/tmp"].kind == "tmpfs"
    assert "size=1024m" in mounts["/tmp"].options
    assert mounts["/var/lang"].kind == "ro"
    assert "/opt/python" not in mounts
    # The zygote's own code is detached before any function code runs.
    assert set(built.seal.detach) == {m.target for m in built.launch.mounts if ".boot" in m.target}
    assert built.seal.uid == built.seal.gid == built.uid
    assert built.seal.max_open_files == 1024
    assert built.seal.seccomp
    assert not any(key.startswith("OVERCAST_") for key in built.launch.env)


def test_granted_endpoints_and_platform_ports_become_relayed_listeners(
    code: Path, tmp_path: Path
) -> None:
    grants = (Endpoint("127.0.0.1", 5432), Endpoint("10.1.2.3", 6379), Endpoint("localhost", 80))
    request = SandboxRequest("x", str(code), None, grants=grants)
    built = plan(request, ROOT, str(tmp_path / "root"))
    inside = [
        (listener.address, listener.port, listener.alias) for listener in built.launch.listeners
    ]
    assert inside == [
        ("127.0.0.1", 3001, False),
        ("127.0.0.1", 5432, False),
        ("10.1.2.3", 6379, True),
        ("127.0.0.1", 80, False),
    ]
    assert built.relay_targets == (
        ("127.0.0.1", 40001),
        ("127.0.0.1", 5432),
        ("10.1.2.3", 6379),
        ("127.0.0.1", 80),
    )
    assert b"127.0.0.1\tlocalhost" in built.launch.files["/etc/hosts"]


def test_ephemeral_storage_beyond_the_machine_is_refused(
    code: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox, "machine_memory_mb", lambda: 4096)
    request = SandboxRequest("x", str(code), None, tmp_mb=10240)
    with pytest.raises(SandboxError, match="more than this machine"):
        plan(request, ROOT, str(tmp_path / "root"))


def test_code_other_users_cannot_read_is_refused_with_the_fix(code: Path, tmp_path: Path) -> None:
    (code / "app.py").chmod(0o600)
    request = SandboxRequest("x", str(code), None)
    with pytest.raises(SandboxError, match="not readable by the sandbox") as info:
        plan(request, ROOT, str(tmp_path / "root"))
    assert "chmod -R o+rX" in info.value.hint


def test_a_name_that_does_not_resolve_is_refused(code: Path, tmp_path: Path) -> None:
    grants = (Endpoint("no-such-host.invalid", 5432),)
    request = SandboxRequest("x", str(code), None, grants=grants)
    with pytest.raises(SandboxError, match="does not resolve"):
        plan(request, ROOT, str(tmp_path / "root"))


def test_a_volume_is_created_for_the_identity_alone(code: Path, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("handing a folder to another uid needs root")
    volume = tmp_path / "volumes" / "fsap-1"
    request = SandboxRequest("x", str(code), None, volumes=((str(volume), "/mnt/data"),))
    built = plan(request, ROOT, str(tmp_path / "root"))
    assert volume.stat().st_uid == built.uid
    assert volume.stat().st_mode & 0o777 == 0o700
    assert any(m.target == "/mnt/data" and m.kind == "data" for m in built.launch.mounts)


def test_http_clients_are_sent_to_the_egress_proxy_past_grants_and_the_platform() -> None:
    proxy = Endpoint("127.0.0.1", 41000)
    env = egress_environment(proxy, (Endpoint("db.internal", 5432), Endpoint("10.0.0.9", 8081)))
    assert env["HTTPS_PROXY"] == env["https_proxy"] == "http://127.0.0.1:41000"
    assert env["NO_PROXY"] == "localhost,127.0.0.1,::1,db.internal,10.0.0.9"
    assert egress_environment(None, ()) == {}
