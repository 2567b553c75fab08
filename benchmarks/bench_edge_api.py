"""Edge benchmark 2: an API request through edge + gateway vs the gateway alone.

The same app (`benchmarks/apps/edge-hello`, one hello function) runs twice with
`overcast up`: as it is, with edge metadata (behavior `*` → api, CachingDisabled, so
every request goes through the edge to the gateway and is never cached), and as a
copy with the `Metadata` block removed, where the node serves the gateway directly.
Both nodes run at once and are measured back to back at each connection count.
Ratio: edge+gateway / gateway alone (req/s), and the p50 the edge adds.
Run: .venv/bin/python benchmarks/bench_edge_api.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import typing
import urllib.request
from pathlib import Path

import yaml
from harness import ROOT, emit, overcast_up, wrk

APP = ROOT / "benchmarks" / "apps" / "edge-hello"
PATH = "/hello/world"
MISS = "Miss from overcast"


def _without_edge(app: Path, into: Path) -> Path:
    """A copy of the app whose template has no Metadata: the node then serves the gateway."""
    copy = into / f"{app.name}-no-edge"
    shutil.copytree(app, copy, ignore=shutil.ignore_patterns(".overcast"))
    template = yaml.safe_load((copy / "template.yaml").read_text())
    template.pop("Metadata", None)
    (copy / "template.yaml").write_text(yaml.safe_dump(template, sort_keys=False))
    return copy


def _get(url: str) -> tuple[dict[str, object], str | None]:
    with urllib.request.urlopen(url) as response:
        return json.loads(response.read()), response.headers.get("X-Cache")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    results: dict[str, object] = {"path": PATH}
    with tempfile.TemporaryDirectory() as tmp:
        plain_app = _without_edge(APP, Path(tmp))
        with overcast_up(APP) as edge, overcast_up(plain_app) as gateway:
            for _ in range(20):
                body, cache = _get(f"{edge.base}{PATH}")
                if cache != MISS:
                    raise SystemExit(f"the edge side must pass every request on: X-Cache {cache!r}")
                plain_body, plain_cache = _get(f"{gateway.base}{PATH}")
                if plain_cache is not None:
                    raise SystemExit("the gateway-alone side went through an edge")
                if body != plain_body:
                    raise SystemExit(f"the two sides answer differently: {body} vs {plain_body}")
            for conns in (1, 16):
                for name, node in (("gateway", gateway), ("edge", edge)):
                    url = f"{node.base}{PATH}"
                    wrk(url, conns, 2)  # warm-up: starts the instances this load needs
                    r = wrk(url, conns, args.seconds)
                    results[f"{name}_c{conns}"] = r.__dict__
    for conns in (1, 16):
        g = typing.cast(dict[str, float], results[f"gateway_c{conns}"])
        e = typing.cast(dict[str, float], results[f"edge_c{conns}"])
        ratio = e["requests_per_s"] / g["requests_per_s"]
        added = e["p50_ms"] - g["p50_ms"]
        results[f"ratio_rps_c{conns}"] = round(ratio, 3)
        results[f"added_p50_ms_c{conns}"] = round(added, 3)
        print(
            f"{conns:>2} conn: edge+gateway {e['requests_per_s']:.0f} req/s "
            f"(p50 {e['p50_ms']:.3f} ms, p99 {e['p99_ms']:.3f} ms, errors {e['errors']}) vs "
            f"gateway alone {g['requests_per_s']:.0f} req/s "
            f"(p50 {g['p50_ms']:.3f} ms, p99 {g['p99_ms']:.3f} ms, errors {g['errors']}) "
            f"→ ratio {ratio:.2f}, added p50 {added:+.3f} ms"
        )
    emit("edge_api", results)


if __name__ == "__main__":
    main()
