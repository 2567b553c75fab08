"""Function dependencies, installed like ``sam build`` does and shared by content hash.

Each function's requirements file (``requirements_file``, else ``requirements.txt`` in
its code directory) is installed with ``pip install --target`` into
``<state_dir>/deps/<hash>``, hash = sha256(requirements text + Python version). A
completed install is marked and reused; functions with the same requirements share it
(and share a zygote that has its packages imported).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence

from overcast.runtime.config import FunctionConfig
from overcast.runtime.errors import DependencyInstallError

_COMPLETE = ".overcast-complete"
_TAIL_CHARS = 2000


def requirements_path(function: FunctionConfig) -> str | None:
    """The requirements file that applies to ``function``, if any."""
    if function.requirements_file:
        path = function.requirements_file
        if not os.path.isabs(path):
            path = os.path.join(function.code_dir, path)
        return path if os.path.isfile(path) else None
    path = os.path.join(function.code_dir, "requirements.txt")
    return path if os.path.isfile(path) else None


def _meaningful(text: str) -> bool:
    return any(line.split("#", 1)[0].strip() for line in text.splitlines())


def requirements_hash(text: str, python_version: str | None = None) -> str:
    """sha256 of the requirements text and the interpreter's major.minor version."""
    version = python_version or f"{sys.version_info.major}.{sys.version_info.minor}"
    return hashlib.sha256(f"{text}\n--python={version}".encode()).hexdigest()


def deps_dir_for(function: FunctionConfig, state_dir: str) -> str | None:
    """Where ``function``'s dependencies live (installed or not); None if it has none."""
    path = requirements_path(function)
    if path is None:
        return None
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if not _meaningful(text):
        return None
    return os.path.join(state_dir, "deps", requirements_hash(text)[:24])


def is_installed(deps_dir: str) -> bool:
    return os.path.exists(os.path.join(deps_dir, _COMPLETE))


def _failed_package(output: str) -> str | None:
    patterns = (
        r"No matching distribution found for ([^\s]+)",
        r"Could not find a version that satisfies the requirement ([^\s]+)",
        r"Failed to build ([^\s]+)",
        r"Failed building wheel for ([^\s]+)",
        r"Invalid requirement: '?([^'\s]+)",
    )
    for pattern in patterns:
        match = re.search(pattern, output)
        if match:
            return match.group(1)
    return None


def _install(requirements: str, target: str, names: list[str]) -> None:
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".installing-", dir=parent)
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--quiet",
                "--target",
                staging,
                "-r",
                requirements,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            output = (result.stderr or "") + (result.stdout or "")
            package = _failed_package(output)
            tail = output.strip()[-_TAIL_CHARS:]
            what = f"package {package}" if package else "the requirements"
            raise DependencyInstallError(
                f"pip could not install {what} for {', '.join(names)} ({requirements}):\n{tail}",
                package=package,
                output_tail=tail,
            )
        with open(os.path.join(staging, _COMPLETE), "w") as marker:
            marker.write(requirements + "\n")
        # mkdtemp made it owner-only; sandboxed instances read it as another user.
        os.chmod(staging, 0o755)  # noqa: S103 - read-only to others, on purpose
        try:
            os.rename(staging, target)
        except OSError:
            if not is_installed(target):
                raise
    finally:
        if os.path.exists(staging):
            shutil.rmtree(staging, ignore_errors=True)


def prepare_dependencies(
    functions: Sequence[FunctionConfig],
    state_dir: str,
    progress: Callable[[str], None] | None = None,
) -> dict[str, str]:
    """Install every function's requirements (cached); return function name -> deps dir."""
    report = progress or (lambda _message: None)
    result: dict[str, str] = {}
    sets: dict[str, tuple[str, list[str]]] = {}
    for function in functions:
        target = deps_dir_for(function, state_dir)
        path = requirements_path(function)
        if target is None or path is None:
            continue
        result[function.name] = target
        sets.setdefault(target, (path, []))[1].append(function.name)
    for target, (requirements, names) in sets.items():
        label = ", ".join(names)
        if is_installed(target):
            report(f"dependencies of {label}: cached")
            continue
        report(f"dependencies of {label}: installing {requirements}")
        _install(requirements, target, names)
        report(f"dependencies of {label}: installed")
    return result
