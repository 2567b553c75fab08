"""Many apps on one stage: stacks routed by base path and by host, kept apart, deleted.

``versioned`` runs at the root of dev; ``notes`` runs as two stacks under /notes and
/memo. Each stack is reached at ``<stack>.dev.<domain>`` too; conflicts on a base path
or a function name are refused naming both stacks; each stack has its own sandbox
identity; deleting one leaves the others serving.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest

from overcast.testing import sandbox_config
from process_helpers import PLATFORM_DOMAIN, RunningPlatform

pytestmark = pytest.mark.slow

NOTES = Path(__file__).parent / "apps" / "notes"


def _get(platform: RunningPlatform, host: str, path: str) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{platform.port}{path}", headers={"Host": host}, timeout=30)


def _dev() -> str:
    return f"dev.{PLATFORM_DOMAIN}"


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    target = tmp_path / "notes"
    shutil.copytree(NOTES, target)
    return target


def test_stacks_share_a_stage_by_base_path_and_by_host(
    overcast_platform: RunningPlatform, versioned_app: Path, notes: Path
) -> None:
    overcast_platform.deploy(versioned_app, "dev")
    overcast_platform.deploy(notes, "dev")  # the template's base path: notes
    overcast_platform.deploy(
        notes, "dev", "--stack", "memo", "--base-path", "memo", "--parameter-overrides",
        "Prefix=Memo",
    )  # fmt: skip
    assert _get(overcast_platform, _dev(), "/whoami").json()["stage"] == "dev"
    at_notes = _get(overcast_platform, _dev(), "/notes/notes").json()
    at_memo = _get(overcast_platform, _dev(), "/memo/notes").json()
    assert at_notes["path"] == at_memo["path"] == "/notes"  # the mapping key is taken off
    # every stack at its own host too, whole
    by_host = _get(overcast_platform, f"memo.{_dev()}", "/notes").json()
    assert by_host["app"] == "notes"
    assert _get(overcast_platform, f"versioned.{_dev()}", "/whoami").status_code == 200
    assert _get(overcast_platform, f"nothing.{_dev()}", "/").status_code == 404
    if sandbox_config() is not None:
        # each stack is a sandbox identity of its own
        assert at_notes["uid"] != at_memo["uid"]
    listed = overcast_platform.cli("stacks", "--stage", "dev", "--json")
    assert listed.returncode == 0, listed.stderr.decode()
    stacks = {s["Stack"]: s for s in json.loads(listed.stdout)["Stacks"]}
    assert set(stacks) == {"versioned", "notes", "memo"}
    assert stacks["memo"]["BasePath"] == "memo"
    assert stacks["memo"]["Functions"] == ["MemoNotes"]
    assert stacks["versioned"]["BasePath"] == ""


def test_conflicts_are_refused_naming_both_stacks(
    overcast_platform: RunningPlatform, versioned_app: Path, notes: Path
) -> None:
    overcast_platform.deploy(versioned_app, "dev")
    overcast_platform.deploy(notes, "dev", "--base-path", "notes")
    taken = overcast_platform.cli(
        "deploy", str(notes), "--stage", "dev", "--stack", "other", "--base-path", "notes",
        "--parameter-overrides", "Prefix=Other",
    )  # fmt: skip
    assert taken.returncode == 1
    said = taken.stderr.decode()
    assert "stack other" in said
    assert "stack notes is" in said
    root = overcast_platform.cli(
        "deploy", str(notes), "--stage", "dev", "--stack", "second", "--base-path", "/",
        "--parameter-overrides", "Prefix=Second",
    )  # fmt: skip
    assert root.returncode == 1
    assert "stack versioned is" in root.stderr.decode()
    same_name = overcast_platform.cli(
        "deploy", str(notes), "--stage", "dev", "--stack", "copy", "--base-path", "copy"
    )
    assert same_name.returncode == 1
    assert "Notes, which stack notes of stage dev already runs" in same_name.stderr.decode()


def test_deleting_a_stack_leaves_the_others_serving(
    overcast_platform: RunningPlatform, versioned_app: Path, notes: Path
) -> None:
    overcast_platform.deploy(versioned_app, "dev")
    overcast_platform.deploy(notes, "dev", "--base-path", "notes")
    assert _get(overcast_platform, _dev(), "/notes/notes").json()["app"] == "notes"
    deleted = overcast_platform.cli("delete", "notes", "--stage", "dev")
    assert deleted.returncode == 0, deleted.stderr.decode()
    assert _get(overcast_platform, _dev(), "/notes/notes").status_code == 404
    assert _get(overcast_platform, _dev(), "/whoami").status_code == 200
    history = overcast_platform.cli("deployments", "--stage", "dev", "--stack", "notes", "--json")
    kinds = [d["Kind"] for d in json.loads(history.stdout)["Deployments"]]
    assert kinds == ["delete", "deploy"]
    again = overcast_platform.cli("delete", "notes", "--stage", "dev")
    assert again.returncode == 1
    assert "has no stack notes" in again.stderr.decode()
