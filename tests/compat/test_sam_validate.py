"""Every example is valid SAM that AWS's own tools accept: "the other way out" stays open.

Always: each template, packaged as `sam package` would (local code folders become S3
URIs), goes through AWS's SAM translator to CloudFormation, which cfn-lint then finds
nothing wrong with. With AWS's SAM CLI at hand (``make sam-validate`` installs it into
``.venv-sam``; ``OVERCAST_SAM_CLI`` names another), ``sam validate --lint`` runs too.
All offline: the managed-policy names come from the translator's bundled list.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import samtranslator
from cfnlint.api import lint
from cfnlint.config import ManualArgs
from cfnlint.decode import decode_str
from samtranslator.plugins.globals.globals import Globals
from samtranslator.translator.transform import transform

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted([*ROOT.glob("examples/*/template.yaml"), *ROOT.glob("examples/*/template.yml")])


def _ids(path: Path) -> str:
    return path.parent.name


class _BundledPolicies:
    """The translator's managed-policy lookup without IAM (its packaged name → ARN list)."""

    def load(self) -> dict[str, str]:
        data = Path(samtranslator.__file__).parent / "internal/data/aws_managed_policies.json"
        policies: dict[str, str] = json.loads(data.read_text())["aws"]
        return policies


def _packaged(node: Any) -> Any:
    """What `sam package` uploads: a local CodeUri/ContentUri becomes an S3 URI."""
    if isinstance(node, dict):
        return {
            key: (
                "s3://overcast-example-artifacts/code.zip"
                if key in ("CodeUri", "ContentUri")
                and isinstance(value, str)
                and not value.startswith("s3://")
                else _packaged(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_packaged(value) for value in node]
    return node


@pytest.mark.parametrize("template", TEMPLATES, ids=_ids)
def test_the_example_transforms_to_cloudformation_cfn_lint_passes(
    template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The translator fills AWS::Region from the default session: no call is made.
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    decoded, problems = decode_str(template.read_text())
    assert not problems, problems
    sam = _packaged(json.loads(json.dumps(decoded)))
    cloudformation = transform(sam, {}, _BundledPolicies())  # type: ignore[arg-type]
    assert "Transform" not in cloudformation
    findings = lint(json.dumps(cloudformation), config=ManualArgs(regions=["us-east-1"]))
    assert [f"{m.rule.id} {m.message}" for m in findings] == []


def _sam_cli() -> str | None:
    named = os.environ.get("OVERCAST_SAM_CLI")
    if named:
        return named
    local = ROOT / ".venv-sam" / "bin" / "sam"
    return str(local) if local.exists() else shutil.which("sam")


# cfn-lint >= 1.54 checks Globals against its own schema, which lacks properties the SAM
# translator merges (FileSystemConfigs among them): a finding the transform disproves.
_UNEXPECTED = re.compile(r"'(\w+)' was unexpected")


def _translator_globals() -> set[str]:
    return {name for names in Globals.supported_properties.values() for name in names}


@pytest.mark.skipif(_sam_cli() is None, reason="AWS SAM CLI not installed (make sam-validate)")
@pytest.mark.parametrize("template", TEMPLATES, ids=_ids)
def test_sam_validate_lint_accepts_the_example(template: Path, tmp_path: Path) -> None:
    sam = _sam_cli()
    assert sam is not None
    env = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "AWS_ACCESS_KEY_ID": "offline",
        "AWS_SECRET_ACCESS_KEY": "offline",
        "HOME": str(tmp_path),  # no ~/.aws of the machine's, nothing written to it
    }
    result = subprocess.run(
        [sam, "validate", "--lint", "--region", "us-east-1", "--template", str(template)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    output = result.stdout + result.stderr
    if result.returncode == 0:
        assert "is a valid SAM Template" in output
        return
    rules = set(re.findall(r"\[([EWI]\d{4}):", output))
    unexpected = set(_UNEXPECTED.findall(output))
    assert rules == {"E3724"}, output
    assert unexpected, output
    assert unexpected <= _translator_globals(), output
    # And the translator, which `sam validate` runs without --lint, accepts the template.
    plain = subprocess.run(
        [sam, "validate", "--region", "us-east-1", "--template", str(template)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert plain.returncode == 0, plain.stdout + plain.stderr
