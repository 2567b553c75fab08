"""Run every benchmark in turn (each prints its own figures and ratios)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent

SCRIPTS = (
    "bench_warm.py",
    "bench_cold.py",
    "bench_burst.py",
    "bench_memory.py",
    "bench_edge_static.py",
    "bench_edge_api.py",
    "bench_async.py",
    "bench_sqs.py",
    "bench_leases.py",
)

for script in SCRIPTS:
    print(f"== {script}", flush=True)
    subprocess.run([sys.executable, str(HERE / script)], cwd=HERE, check=False)
