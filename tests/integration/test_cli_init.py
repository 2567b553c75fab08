"""`overcast init` scaffolds an app that validates and runs; a non-empty folder is refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _overcast(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "overcast", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_init_scaffolds_an_app_that_validates_and_invokes(tmp_path: Path) -> None:
    created = _overcast("init", "my-app", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    app = tmp_path / "my-app"
    assert (app / "template.yaml").is_file()
    assert (app / "src" / "app.py").is_file()
    assert (app / "events" / "hello.json").is_file()

    valid = _overcast("validate", "my-app", "--no-lint", cwd=tmp_path)
    assert valid.returncode == 0, valid.stderr
    assert "1 function(s), 2 route(s)" in valid.stderr

    invoked = _overcast(
        "invoke",
        "HelloFunction",
        "--app",
        "my-app",
        "--event",
        "my-app/events/hello.json",
        cwd=tmp_path,
    )
    assert invoked.returncode == 0, invoked.stderr
    result = json.loads(invoked.stdout)
    assert result["statusCode"] == 200
    assert json.loads(result["body"]) == {"message": "hello overcast"}
    assert "START RequestId:" in invoked.stderr
    assert "REPORT RequestId:" in invoked.stderr


def test_init_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    refused = _overcast("init", "taken", cwd=tmp_path)
    assert refused.returncode == 1
    assert "exists and is not empty" in refused.stderr
    assert (tmp_path / "taken" / "keep.txt").read_text() == "mine"


def test_validate_points_at_the_line_of_a_broken_template(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  Hello:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        "      CodeUri: .\n"
        "      Runtime: python3.11\n"
    )
    broken = _overcast("validate", ".", "--no-lint", cwd=tmp_path)
    assert broken.returncode == 1
    assert "template.yaml:5:5: Function 'Hello' has no Handler" in broken.stderr
    assert "hint: add Handler" in broken.stderr
