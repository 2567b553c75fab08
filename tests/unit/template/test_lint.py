"""lint_template: cfn-lint's findings with line numbers, offline. The one slow test here."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from overcast.template import Location, lint_template

REPO = Path(__file__).resolve().parents[3]

BAD = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      CodeUri: src/
      MemorySize: 5
"""


def test_lint_reports_findings_with_lines_and_never_the_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("cfn-lint tried to reach the network")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr("cfnlint.helpers.urlopen", no_network, raising=False)

    findings = lint_template(BAD, "template.yaml")
    memory = [f for f in findings if "128" in f.message]
    assert memory, findings
    assert memory[0].message.startswith("E")
    assert memory[0].location == Location("template.yaml", 9, 7)

    hello = REPO / "examples" / "hello" / "template.yaml"
    assert lint_template(hello.read_text(), str(hello)) == []
