"""Benchmark 2: cold start — request latency when the function has zero instances.

Each request goes to a different function of a generated app (N copies of hello,
and N copies of a handler importing boto3 through its requirements.txt), so every
measured request is a cold start end to end: gateway → fork from the zygote →
import the handler → invoke → response. The baseline, measured in the same run, is
what a platform without a zygote pays: a fresh `python` process importing and
calling the same handler.

The same app runs twice, with the function sandbox (the default) and with
``--no-sandbox``, so the sandbox's cost is measured in the same run.

Targets: hello p50 ≤ 15 ms end to end (issue 2); the sandbox adds ≤ 2 ms to the
hello p50 (issue 10).
Run: .venv/bin/python benchmarks/bench_cold.py [--count 60]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from harness import PYTHON, emit, overcast_up, percentile, summary

HELLO = """import json


def lambda_handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"message": "hello"})}
"""
HEAVY = """import json

import boto3


def lambda_handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"boto3": boto3.__version__})}
"""


def make_app(root: Path, count: int) -> Path:
    app = root / "coldapp"
    resources = []
    for kind, source, reqs in (("hello", HELLO, ""), ("heavy", HEAVY, "boto3\n")):
        code = app / kind
        code.mkdir(parents=True)
        (code / "app.py").write_text(source)
        (code / "requirements.txt").write_text(reqs)
        for i in range(count):
            resources.append(
                f"""  {kind.title()}{i}:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {kind}/
      Handler: app.lambda_handler
      Events:
        Get:
          Type: HttpApi
          Properties: {{Path: /{kind}/{i}, Method: GET}}
"""
            )
    (app / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Globals:\n  Function:\n    Runtime: python3.11\n    MemorySize: 128\n    Timeout: 10\n"
        "Resources:\n" + "".join(resources)
    )
    return app


def timed_get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url) as response:
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{url}: {response.status}")
    return (time.perf_counter() - started) * 1000


def baseline_spawn(code_dir: Path, runs: int, extra_path: Path | None) -> list[float]:
    script = "import app; app.lambda_handler({}, None)"
    env = dict(os.environ)
    if extra_path is not None:
        env["PYTHONPATH"] = str(extra_path)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([PYTHON, "-c", script], cwd=code_dir, env=env, check=True)
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=60)
    args = parser.parse_args()
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp), args.count)
        for mode, extra in (("", ()), ("unsandboxed_", ("--no-sandbox",))):
            with overcast_up(app, *extra) as node:
                for kind in ("hello", "heavy"):
                    cold = [timed_get(f"{node.base}/{kind}/{i}") for i in range(args.count)]
                    warm = [timed_get(f"{node.base}/{kind}/{i}") for i in range(args.count)]
                    figures[f"{mode}{kind}_cold_p50_ms"] = round(percentile(cold, 50), 2)
                    figures[f"{mode}{kind}_cold_p99_ms"] = round(percentile(cold, 99), 2)
                    figures[f"{mode}{kind}_warm_p50_ms"] = round(percentile(warm, 50), 2)
                    label = "sandboxed" if not mode else "unsandboxed"
                    print(f"{kind} ({label}): cold {summary(cold)}; warm {summary(warm)}")
        for kind in ("hello", "heavy"):
            added = figures[f"{kind}_cold_p50_ms"] - figures[f"unsandboxed_{kind}_cold_p50_ms"]  # type: ignore[operator]
            figures[f"{kind}_sandbox_added_p50_ms"] = round(added, 2)
            print(f"{kind}: the sandbox adds {added:+.2f} ms to the cold p50 (target ≤ 2 ms)")
        deps = next((app / ".overcast" / "deps").glob("*"), None)
        for kind in ("hello", "heavy"):
            # The baseline gets the same installed packages on its path.
            base = baseline_spawn(app / kind, 20, deps if kind == "heavy" else None)
            figures[f"{kind}_spawn_baseline_p50_ms"] = round(percentile(base, 50), 2)
            ratio = figures[f"{kind}_cold_p50_ms"] / percentile(base, 50)  # type: ignore[operator]
            figures[f"{kind}_cold_vs_spawn_ratio"] = round(ratio, 3)
            print(
                f"{kind}: fresh-interpreter baseline {summary(base)} "
                f"→ cold/baseline p50 ratio {ratio:.2f}"
            )
    print(f"hello cold p50 {figures['hello_cold_p50_ms']} ms (target ≤ 15 ms)")
    emit("cold", figures)


if __name__ == "__main__":
    main()
