"""Coverage-guided fuzzing of the parsers that take outside input, with atheris.

``make fuzz`` runs every target of parser_targets.py for a bounded time after the
hypothesis tests (``python tests/fuzz/atheris_run.py --seconds 60``); one target with
``--target NAME``. A documented parse error is fine; any other exception is a crash, and
an input that runs past one second a hang (libFuzzer's ``-timeout=1``). Reproducers
land in ``.fuzz/<target>/``; ``python tests/fuzz/atheris_run.py --target NAME FILE``
replays one.

atheris is optional (the ``fuzz`` extra): where it does not install, the hypothesis
tests still run and this prints that it skipped.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _names() -> tuple[str, ...]:
    """The targets' names (the parent imports them here; the child, instrumented)."""
    sys.path.insert(0, str(HERE))
    return tuple(importlib.import_module("parser_targets").TARGETS)


def _fuzz_one(name: str, argv: list[str]) -> None:
    """In the child: import the targets instrumented, then hand control to libFuzzer."""
    atheris = importlib.import_module("atheris")
    sys.path.insert(0, str(HERE))
    with atheris.instrument_imports(include=["overcast", "parser_targets"]):
        targets = importlib.import_module("parser_targets")
    atheris.Setup([sys.argv[0], *argv], targets.TARGETS[name])
    atheris.Fuzz()


def main() -> int:
    parser = argparse.ArgumentParser(description="Fuzz overcast's parsers with atheris.")
    parser.add_argument("--seconds", type=int, default=60, help="per target")
    parser.add_argument("--target", action="append", help="one of parser_targets.TARGETS")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("inputs", nargs="*", help="replay these inputs instead of fuzzing")
    args = parser.parse_args()
    if args.child:
        _fuzz_one(args.child, args.inputs)
        return 0
    names = _names()
    if args.target and not set(args.target) <= set(names):
        parser.error(f"unknown target; choose from {', '.join(names)}")
    if importlib.util.find_spec("atheris") is None:
        print("atheris is not installed (pip install -e '.[fuzz]'): skipping")
        return 0
    failed: list[str] = []
    for name in args.target or names:
        findings = ROOT / ".fuzz" / name
        findings.mkdir(parents=True, exist_ok=True)
        flags = [
            f"-max_total_time={args.seconds}",
            "-timeout=1",
            "-rss_limit_mb=1024",
            f"-artifact_prefix={findings}/",
        ]
        print(f"== {name}: {'replaying' if args.inputs else f'{args.seconds} s'}", flush=True)
        done = subprocess.run(
            [sys.executable, __file__, "--child", name, "--", *flags, *args.inputs],
            env={**os.environ, "PYTHONHASHSEED": "0"},
            check=False,
        )
        if done.returncode != 0:
            failed.append(name)
    if failed:
        print(f"findings in: {', '.join(failed)} (reproducers under .fuzz/)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
