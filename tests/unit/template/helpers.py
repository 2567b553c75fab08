"""Builders for template tests: SAM text around a Resources block, and a loader call."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

from overcast.template import AppModel, load_template

FILENAME = "template.yaml"
BASE_DIR = "/srv/app"

HEADER = "Transform: AWS::Serverless-2016-10-31\n"


def sam(body: str) -> str:
    """A SAM template: the transform line, then ``body`` (dedented)."""
    return HEADER + textwrap.dedent(body).lstrip("\n")


def function(
    name: str = "Hello", props: str = "", *, handler: str = "app.handler", events: str = ""
) -> str:
    """A Resources entry for one Python function (indented for a Resources block)."""
    lines = [
        f"  {name}:",
        "    Type: AWS::Serverless::Function",
        "    Properties:",
        f"      Handler: {handler}",
        "      Runtime: python3.12",
    ]
    lines += ["      " + line for line in textwrap.dedent(props).strip("\n").splitlines() if line]
    if events:
        lines.append("      Events:")
        lines += ["        " + line for line in textwrap.dedent(events).strip("\n").splitlines()]
    return "\n".join(lines) + "\n"


def load(
    text: str,
    overrides: Mapping[str, str] | None = None,
    **kwargs: str,
) -> AppModel:
    """``load_template`` with the test file name and base dir."""
    return load_template(
        text, filename=FILENAME, base_dir=BASE_DIR, parameter_overrides=overrides, **kwargs
    )


def load_resources(resources: str, *, before: str = "", **kwargs: str) -> AppModel:
    """Load a template made of optional sections ``before`` and a Resources block."""
    text = sam(before) + "Resources:\n" + resources
    return load(text, **kwargs)


def messages(model: AppModel) -> list[str]:
    """The text of each warning the load produced."""
    return [warning.message for warning in model.warnings]
