"""What the sandbox cannot give is refused before anything starts, naming the template line."""

from __future__ import annotations

from pathlib import Path

import pytest

from overcast.control import app_loading
from overcast.control.app_loading import load_app, runtime_functions
from overcast.errors import OvercastError

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Metadata:
      overcast:
        network: [{grant}]
    Properties:
      Handler: app.handler
      Runtime: python3.11
      CodeUri: src/
      EphemeralStorage: {{Size: 2048}}
"""


def _app(tmp_path: Path, grant: str) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(e, c):\n    return 1\n")
    (tmp_path / "template.yaml").write_text(TEMPLATE.format(grant=grant))
    return tmp_path


def test_a_grant_that_does_not_resolve_is_refused_with_its_line(tmp_path: Path) -> None:
    model = load_app(_app(tmp_path, "'no-such-host.invalid:5432'"))
    with pytest.raises(OvercastError) as info:
        runtime_functions(model)
    assert "template.yaml:3:3: Function Fn" in info.value.message
    assert "does not resolve" in info.value.message


def test_ephemeral_storage_beyond_the_machine_is_refused_with_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_loading, "machine_memory_mb", lambda: 1024)
    model = load_app(_app(tmp_path, "'127.0.0.1:5432'"))
    with pytest.raises(OvercastError) as info:
        runtime_functions(model)
    assert "template.yaml:3:3: Function Fn asks for EphemeralStorage of 2048 MB" in str(info.value)
    assert "EphemeralStorage.Size" in info.value.hint


def test_grants_that_resolve_reach_the_runtime(tmp_path: Path) -> None:
    (config,) = runtime_functions(load_app(_app(tmp_path, "'localhost:5432'")))
    assert [str(e) for e in config.network] == ["localhost:5432"]
    assert config.ephemeral_storage_mb == 2048
