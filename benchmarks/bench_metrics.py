"""Benchmark: warm throughput of hello with metrics recording on vs off.

Recording (issue 6) happens on the data path: each invocation is priced and counted
in memory, each request counted per route; storage is a background flush. The
baseline is the same node with ``OVERCAST_METRICS=off``, measured in the same run.
The two modes alternate (off, on, off, on, …) so that a noisy neighbour hits both.
Run: .venv/bin/python benchmarks/bench_metrics.py [--seconds 8] [--rounds 2]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import urllib.request
from collections.abc import Iterator

from harness import ROOT, emit, overcast_up, wrk


@contextlib.contextmanager
def metrics_env(enabled: bool) -> Iterator[None]:
    """The node started inside inherits OVERCAST_METRICS=on/off from this process."""
    before = os.environ.get("OVERCAST_METRICS")
    os.environ["OVERCAST_METRICS"] = "on" if enabled else "off"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("OVERCAST_METRICS", None)
        else:
            os.environ["OVERCAST_METRICS"] = before


def measure(enabled: bool, seconds: int) -> dict[int, float]:
    """Requests/s at 1 and 16 connections for one node started in ``enabled`` mode."""
    found = {}
    with metrics_env(enabled), overcast_up(ROOT / "examples" / "hello") as node:
        url = f"{node.base}/hello/world"
        for _ in range(20):
            urllib.request.urlopen(url).read()
        if enabled:
            probe = urllib.request.urlopen(f"http://127.0.0.1:{node.admin_port}/metrics")
            if b"overcast_invocations_total{" not in probe.read():
                raise SystemExit("metrics are on but /metrics shows no invocation")
        for conns in (1, 16):
            wrk(url, conns, 2)  # warm-up: instances for every connection
            found[conns] = wrk(url, conns, seconds).requests_per_s
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    runs: dict[bool, list[dict[int, float]]] = {False: [], True: []}
    for round_no in range(args.rounds):
        # Alternate which mode goes first, so neither always runs on a fresher machine.
        order = (False, True) if round_no % 2 == 0 else (True, False)
        for enabled in order:
            runs[enabled].append(measure(enabled, args.seconds))
    results: dict[str, object] = {}
    for conns in (1, 16):
        off = statistics.median(r[conns] for r in runs[False])
        on = statistics.median(r[conns] for r in runs[True])
        ratio = on / off
        results[f"off_rps_c{conns}"] = round(off)
        results[f"on_rps_c{conns}"] = round(on)
        results[f"ratio_c{conns}"] = round(ratio, 3)
        each = ", ".join(
            f"{a[conns]:.0f}/{b[conns]:.0f}" for a, b in zip(runs[False], runs[True], strict=True)
        )
        print(
            f"{conns:>2} conn: metrics on {on:.0f} req/s vs off {off:.0f} req/s "
            f"(medians of {args.rounds}; off/on per round: {each}) → ratio {ratio:.3f}"
        )
    emit("metrics", results)


if __name__ == "__main__":
    main()
