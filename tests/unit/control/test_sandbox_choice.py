"""Whether functions run sandboxed, and what the user is told when they do not."""

from __future__ import annotations

import pytest

from overcast.control import sandbox_choice
from overcast.control.sandbox_choice import (
    SandboxUnavailableError,
    choose_sandbox,
    platform_ports,
)
from overcast.runtime.sandbox import Endpoint, SandboxMode, SandboxSupport

PORTS = platform_ports(("0.0.0.0", 8081), ("127.0.0.1", 40001), ("0.0.0.0", 8080))


def _machine(monkeypatch: pytest.MonkeyPatch, support: SandboxSupport) -> None:
    monkeypatch.setattr(sandbox_choice, "detected", lambda: support)


def test_a_capable_machine_sandboxes_with_the_platforms_ports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _machine(monkeypatch, SandboxSupport(SandboxMode.ROOT))
    choice = choose_sandbox(True, PORTS)
    assert choice.enabled
    assert choice.warning is None
    assert choice.config is not None
    admin, data = choice.config.platform_ports
    # A wildcard bind is reached on loopback; the admin port inside goes to the
    # admin app's function-facing listener.
    assert admin.inside == Endpoint("127.0.0.1", 8081)
    assert admin.target == Endpoint("127.0.0.1", 40001)
    assert data.inside == data.target == Endpoint("127.0.0.1", 8080)


def test_no_sandbox_is_said_once(monkeypatch: pytest.MonkeyPatch) -> None:
    _machine(monkeypatch, SandboxSupport(SandboxMode.ROOT))
    choice = choose_sandbox(False, PORTS)
    assert not choice.enabled
    assert choice.warning is not None
    assert "--no-sandbox" in choice.warning


def test_overcast_up_warns_where_the_machine_cannot_sandbox(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _machine(monkeypatch, SandboxSupport(None, "user namespaces are disabled"))
    choice = choose_sandbox(True, PORTS)
    assert not choice.enabled
    assert choice.warning == (
        "functions are not isolated from this machine: user namespaces are disabled"
    )


def test_a_platform_refuses_to_start_where_the_machine_cannot_sandbox(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _machine(monkeypatch, SandboxSupport(None, "user namespaces are disabled"))
    with pytest.raises(SandboxUnavailableError) as info:
        choose_sandbox(True, PORTS, required=True)
    assert "--no-sandbox" in info.value.hint
    # ... unless told to run unisolated
    assert not choose_sandbox(False, PORTS, required=True).enabled
