"""Benchmark 1: warm throughput and latency of hello through the gateway vs a bare ASGI app.

Targets (issue 2): at least 0.5 of the baseline's requests/s, ≤ 0.5 ms added p50 latency.
The same app also runs with ``--no-sandbox`` in the same run: the function sandbox
may cost at most 10 % of the warm throughput (issue 10).
Run: .venv/bin/python benchmarks/bench_warm.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import typing
import urllib.request

from harness import ROOT, baseline_up, emit, overcast_up, wrk


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    results: dict[str, object] = {}
    with baseline_up() as base:
        for conns in (1, 16):
            wrk(f"{base.base}/hello/world", conns, 2)  # warm-up
            r = wrk(f"{base.base}/hello/world", conns, args.seconds)
            results[f"baseline_c{conns}"] = r.__dict__
    for mode, extra in (("overcast", ()), ("unsandboxed", ("--no-sandbox",))):
        with overcast_up(ROOT / "examples" / "hello", *extra) as node:
            for _ in range(20):
                urllib.request.urlopen(f"{node.base}/hello/world").read()
            for conns in (1, 16):
                wrk(f"{node.base}/hello/world", conns, 2)
                r = wrk(f"{node.base}/hello/world", conns, args.seconds)
                results[f"{mode}_c{conns}"] = r.__dict__
    for conns in (1, 16):
        b = typing.cast(dict[str, float], results[f"baseline_c{conns}"])
        o = typing.cast(dict[str, float], results[f"overcast_c{conns}"])
        ratio = o["requests_per_s"] / b["requests_per_s"]
        added = o["p50_ms"] - b["p50_ms"]
        results[f"ratio_rps_c{conns}"] = round(ratio, 3)
        results[f"added_p50_ms_c{conns}"] = round(added, 3)
        print(
            f"{conns:>2} conn: overcast {o['requests_per_s']:.0f} req/s vs baseline "
            f"{b['requests_per_s']:.0f} req/s → ratio {ratio:.2f} (target ≥ 0.5); "
            f"p50 {o['p50_ms']:.3f} vs {b['p50_ms']:.3f} ms → +{added:.3f} ms (target ≤ 0.5); "
            f"errors {o['errors']}"
        )
        u = typing.cast(dict[str, float], results[f"unsandboxed_c{conns}"])
        cost = o["requests_per_s"] / u["requests_per_s"]
        results[f"sandboxed_vs_unsandboxed_rps_c{conns}"] = round(cost, 3)
        print(
            f"{conns:>2} conn: sandboxed {o['requests_per_s']:.0f} vs unsandboxed "
            f"{u['requests_per_s']:.0f} req/s → {cost:.2f} (target ≥ 0.90)"
        )
    emit("warm", results)


if __name__ == "__main__":
    main()
