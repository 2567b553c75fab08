"""Finding an app's template on disk and turning its specs into runtime configs."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from overcast.errors import OvercastError
from overcast.runtime import FunctionConfig
from overcast.template import AppModel, load_template

TEMPLATE_NAMES = ("template.yaml", "template.yml", "template.json")


class AppNotFoundError(OvercastError):
    """The folder holds no SAM template."""


def find_template(app_dir: Path) -> Path:
    """The app's template file, or a clear error saying what was looked for."""
    if app_dir.is_file():
        return app_dir
    for name in TEMPLATE_NAMES:
        candidate = app_dir / name
        if candidate.is_file():
            return candidate
    raise AppNotFoundError(
        f"no SAM template in {app_dir} (looked for {', '.join(TEMPLATE_NAMES)})",
        hint="run `overcast init DIR` to scaffold an app, or pass the folder holding template.yaml",
    )


def state_dir_for(template: Path) -> Path:
    """Where overcast keeps an app's state (logs, dependency caches): ``.overcast/`` beside it."""
    return template.parent / ".overcast"


def load_app(app_dir: Path, parameter_overrides: Mapping[str, str] | None = None) -> AppModel:
    """Read and resolve the app's template."""
    template = find_template(app_dir)
    text = template.read_text(encoding="utf-8")
    return load_template(
        text,
        filename=str(template),
        base_dir=str(template.parent.resolve()),
        parameter_overrides=dict(parameter_overrides or {}),
        stack_name=template.parent.resolve().name or "overcast",
    )


def runtime_functions(model: AppModel) -> list[FunctionConfig]:
    """Map each template function onto what the runtime needs to run it."""
    configs = []
    for spec in model.functions.values():
        requirements = os.path.join(spec.code_dir, "requirements.txt")
        configs.append(
            FunctionConfig(
                name=spec.name,
                handler=spec.handler,
                code_dir=spec.code_dir,
                runtime=spec.runtime,
                memory_mb=spec.memory_mb,
                timeout_s=spec.timeout_s,
                environment=dict(spec.environment),
                reserved_concurrency=spec.reserved_concurrency,
                provisioned_concurrency=spec.provisioned_concurrency,
                requirements_file=requirements if os.path.isfile(requirements) else None,
            )
        )
    return configs


def interpreter_warnings(model: AppModel) -> list[str]:
    """Functions whose Runtime differs from the Python overcast runs them on (said, not hidden)."""
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return [
        f"{spec.name} asks for Runtime {spec.runtime}; overcast runs it on this node's "
        f"{here} (install overcast under {spec.runtime} to match)"
        for spec in model.functions.values()
        if spec.runtime != here
    ]
