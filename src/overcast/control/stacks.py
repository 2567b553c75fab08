"""Stack names and base paths: what a deploy may call a stack and where it may mount it.

A stack is one app deployed to a stage (a CloudFormation stack's part). Its name
follows CloudFormation's rule (a letter, then letters, digits and hyphens, at most
128); a deploy that names none deploys the stage's :data:`DEFAULT_STACK`. Its base
path is an API Gateway API mapping key: one path segment of letters, digits, ``.``,
``_`` and ``-`` ("" = the root of the stage's hosts).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from overcast.control.deploy_store import DEFAULT_STACK
from overcast.errors import OvercastError

_STACK = re.compile(r"[A-Za-z][-A-Za-z0-9]{0,127}")
_BASE_PATH = re.compile(r"[A-Za-z0-9._-]{1,128}")


class StackNameError(OvercastError):
    """A stack name or base path that cannot be used."""


def stack_name(text: str) -> str:
    """``text`` as a stack name (``""`` → the default stack), or a clear error."""
    if not text:
        return DEFAULT_STACK
    if not _STACK.fullmatch(text):
        raise StackNameError(
            f"{text!r} is not a stack name",
            hint="a letter, then letters, digits and hyphens (CloudFormation's rule), e.g. auth",
        )
    return text


def base_path(text: str) -> str:
    """``text`` as an API mapping key (``""`` and ``/`` → the root), or a clear error."""
    value = text.strip("/")
    if value and not _BASE_PATH.fullmatch(value):
        raise StackNameError(
            f"{text!r} is not a base path",
            hint="one path segment of letters, digits, '.', '_' or '-', e.g. auth",
        )
    return value


def default_stack(app_dir: Path, stage: str | None) -> str:
    """The stack an app deploys as when none is named: ``samconfig.toml``'s
    ``stack_name`` for the stage (as ``sam deploy --config-env`` reads it), else the
    app folder's name."""
    config = app_dir / "samconfig.toml"
    if stage and config.is_file():
        try:
            data = tomllib.loads(config.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            data = {}
        section = data.get(stage, {}).get("deploy", {}).get("parameters", {})
        configured = section.get("stack_name") if isinstance(section, dict) else None
        if isinstance(configured, str) and _STACK.fullmatch(configured):
            return configured
    name = re.sub(r"[^-A-Za-z0-9]", "-", app_dir.resolve().name).strip("-")
    if not name or not name[0].isalpha():
        name = f"app-{name}" if name else DEFAULT_STACK
    return name[:128]
