"""Benchmark 3: burst — 0 → 32 concurrent requests against a scaled-to-zero function.

Prints the time until all 32 are served and the instances started per second; the
baseline, measured in the same run, is the same burst once those instances are warm.
Run: .venv/bin/python benchmarks/bench_burst.py [--burst 32]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness import emit, overcast_up

HANDLER = """import json
import os
import time


def lambda_handler(event, context):
    time.sleep(0.05)  # long enough that requests overlap and need their own instances
    return {"statusCode": 200, "body": json.dumps({"pid": os.getpid()})}
"""


def make_app(root: Path) -> Path:
    app = root / "burstapp"
    (app / "src").mkdir(parents=True)
    (app / "src" / "app.py").write_text(HANDLER)
    (app / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Burst:\n"
        "    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: src/\n"
        "      Handler: app.lambda_handler\n      Runtime: python3.11\n      Timeout: 10\n"
        "      Events:\n        Get:\n          Type: HttpApi\n"
        "          Properties: {Path: /burst, Method: GET}\n"
    )
    return app


def burst(url: str, size: int) -> tuple[float, set[str], int]:
    barrier = threading.Barrier(size + 1)

    def one() -> tuple[int, str]:
        barrier.wait()
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return response.status, response.read().decode()
        except OSError as exc:
            return 0, str(exc)

    with ThreadPoolExecutor(size) as pool:
        futures = [pool.submit(one) for _ in range(size)]
        barrier.wait()
        started = time.perf_counter()
        results = [f.result() for f in futures]
        elapsed = (time.perf_counter() - started) * 1000
    ok = [body for status, body in results if status == 200]
    return elapsed, set(ok), size - len(ok)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--burst", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, overcast_up(make_app(Path(tmp))) as node:
        url = f"{node.base}/burst"
        cold_ms, cold_pids, cold_failed = burst(url, args.burst)
        warm_ms, warm_pids, warm_failed = burst(url, args.burst)
    started_per_s = len(cold_pids) / (cold_ms / 1000)
    print(
        f"cold burst of {args.burst}: all served in {cold_ms:.0f} ms, {len(cold_pids)} instances "
        f"started ({started_per_s:.0f}/s), {cold_failed} failed"
    )
    print(
        f"warm burst (baseline): {warm_ms:.0f} ms on {len(warm_pids)} instances, "
        f"{warm_failed} failed → cold/warm ratio {cold_ms / warm_ms:.2f}"
    )
    emit(
        "burst",
        {
            "burst": args.burst,
            "cold_all_served_ms": round(cold_ms, 1),
            "instances_started": len(cold_pids),
            "instances_per_s": round(started_per_s, 1),
            "cold_failed": cold_failed,
            "warm_all_served_ms": round(warm_ms, 1),
            "cold_vs_warm_ratio": round(cold_ms / warm_ms, 3),
        },
    )


if __name__ == "__main__":
    main()
