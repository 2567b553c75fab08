"""Benchmark 4: memory — PSS per warm hello instance and of the idle platform.

The baseline, measured in the same run, is the PSS of the bare uvicorn app.
Run: .venv/bin/python benchmarks/bench_memory.py
"""

from __future__ import annotations

import time
import urllib.request

import psutil
from harness import ROOT, baseline_up, emit, overcast_up


def pss_mb(process: psutil.Process) -> float:
    return float(process.memory_full_info().pss) / 2**20


def main() -> None:
    with baseline_up() as base:
        baseline = pss_mb(psutil.Process(base.process.pid))
    with overcast_up(ROOT / "examples" / "hello") as node:
        root = psutil.Process(node.process.pid)
        time.sleep(0.5)
        idle = [root, *root.children(recursive=True)]
        idle_total = sum(pss_mb(p) for p in idle)
        before = {p.pid for p in idle}
        urllib.request.urlopen(f"{node.base}/hello/world").read()
        time.sleep(0.2)
        workers = [p for p in root.children(recursive=True) if p.pid not in before]
        per_instance = [pss_mb(p) for p in workers]
    print(
        f"idle platform (node + zygote): {idle_total:.1f} MB PSS over {len(idle)} processes; "
        f"bare uvicorn baseline {baseline:.1f} MB → ratio {idle_total / baseline:.2f}"
    )
    for mb in per_instance:
        print(f"warm hello instance: {mb:.1f} MB PSS")
    emit(
        "memory",
        {
            "idle_platform_pss_mb": round(idle_total, 1),
            "baseline_uvicorn_pss_mb": round(baseline, 1),
            "idle_vs_baseline_ratio": round(idle_total / baseline, 2),
            "warm_instance_pss_mb": [round(mb, 1) for mb in per_instance],
        },
    )


if __name__ == "__main__":
    main()
