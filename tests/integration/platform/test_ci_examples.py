"""The CI examples deploy each branch to its stage: their own commands, run against a platform."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from process_helpers import RunningPlatform, overcast_argv

pytestmark = pytest.mark.slow

CI = Path(__file__).parents[3] / "examples" / "ci"
BRANCHES = {"develop": "dev", "qa": "qa", "main": "prod"}


def _gitlab() -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load((CI / ".gitlab-ci.yml").read_text())
    return loaded


def gitlab_stage(branch: str) -> str | None:
    """The STAGE GitLab's rules give a pipeline of ``branch`` (None: no deploy job)."""
    job = _gitlab()["deploy"]
    assert isinstance(job, dict)
    for rule in job["rules"]:
        match = re.fullmatch(r'\$CI_COMMIT_BRANCH == "([^"]+)"', rule["if"])
        assert match, rule
        if match.group(1) == branch:
            stage: str = rule["variables"]["STAGE"]
            return stage
    return None


@pytest.mark.parametrize(("branch", "stage"), [*BRANCHES.items(), ("feature/x", None)])
def test_gitlab_rules_map_each_branch_to_its_stage(branch: str, stage: str | None) -> None:
    assert gitlab_stage(branch) == stage


def test_the_github_workflow_deploys_the_same_branches() -> None:
    workflow = yaml.safe_load((CI / ".github" / "workflows" / "deploy.yml").read_text())
    # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on".
    assert workflow[True]["push"]["branches"] == list(BRANCHES)
    expression = workflow["jobs"]["deploy"]["env"]["STAGE"]
    for branch, stage in BRANCHES.items():
        assert f"'{branch}' && '{stage}'" in expression or stage == "dev"


def _run_script(
    lines: list[str], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[bytes]:
    # `overcast` on PATH is the CLI under test (the job's `pip install .` in CI).
    bin_dir = str(Path(overcast_argv()[0]).parent)
    script = "set -euo pipefail\n" + "\n".join(lines)
    return subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", **env},
        capture_output=True,
        timeout=180,
        check=False,
    )


def test_the_gitlab_deploy_job_deploys_develop_to_dev_with_a_dev_key(
    overcast_platform: RunningPlatform, versioned_app: Path, tmp_path: Path
) -> None:
    job = _gitlab()["deploy"]
    assert isinstance(job, dict)
    env = {
        "APP_DIR": str(versioned_app),
        "OVERCAST_TARGET": overcast_platform.admin_url,
        **overcast_platform.deployer_key_env("dev"),
        "CI_COMMIT_SHORT_SHA": "abc1234",
        "CI_COMMIT_TITLE": "a change",
        "COLUMNS": "200",  # the history table on one line per deployment
    }
    done = _run_script(job["script"], {**env, "STAGE": str(gitlab_stage("develop"))}, tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    assert overcast_platform.get("dev", "/whoami").json()["stage"] == "dev"
    assert "abc1234 a change" in done.stdout.decode()
    # the same job on main, with the dev key, is refused: prod stays untouched
    refused = _run_script(job["script"], {**env, "STAGE": str(gitlab_stage("main"))}, tmp_path)
    assert refused.returncode != 0
    assert "AccessDeniedException" in refused.stderr.decode()
    assert overcast_platform.get("prod", "/whoami").status_code == 503
