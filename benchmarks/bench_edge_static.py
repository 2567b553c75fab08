"""Edge benchmark 1: a cached static hit through overcast's edge vs nginx serving the same file.

`overcast up benchmarks/apps/edge-hello` serves /assets/app.js (8.7 KB) from the
app's static folder through the edge; once warm, every request is a cache hit
(`X-Cache: Hit from overcast`). The baseline is Debian's nginx serving the same
file from the same folder: one worker process (overcast's edge is one process), a
generated minimal config (sendfile on, access log off, keep-alive connections not
capped so neither side reconnects during a run). Both servers run at once and are
measured back to back at each connection count. Ratio: overcast / nginx.
Run: .venv/bin/python benchmarks/bench_edge_static.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import typing
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from harness import ROOT, Served, emit, free_port, overcast_up, wait_http, wrk

APP = ROOT / "benchmarks" / "apps" / "edge-hello"
ASSET = "/assets/app.js"
NGINX = Path("/usr/sbin/nginx")
HIT = "Hit from overcast"

_NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 1;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""


def _wait_for_nginx(timeout: float = 300.0) -> None:
    # Another process may be installing nginx-light right now (`make bench-deps`).
    deadline = time.monotonic() + timeout
    while not NGINX.exists():
        if time.monotonic() > deadline:
            raise SystemExit(
                "nginx is not installed: run `make bench-deps` (apt-get install nginx-light)"
            )
        time.sleep(1)


@contextlib.contextmanager
def nginx_up(root: Path) -> Iterator[Served]:
    """Debian's nginx, one worker, in the foreground, serving `root` until the block ends."""
    _wait_for_nginx()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        # As root, nginx's workers would run as `nobody` and could not read a 0700 temp
        # folder; running them as the caller keeps the file access the same as overcast's.
        user = "user root;" if os.geteuid() == 0 else ""
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(_NGINX_CONF.format(user=user, tmp=tmp, port=port, root=root))
        process = subprocess.Popen(
            [str(NGINX), "-p", tmp, "-c", str(conf), "-e", f"{tmp}/error.log"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            try:
                wait_http(f"http://127.0.0.1:{port}{ASSET}", timeout=15)
            except RuntimeError:
                log = Path(tmp) / "error.log"
                raise SystemExit(
                    "nginx did not start: " + (log.read_text() if log.exists() else "")
                ) from None
            yield Served(process, port)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()


def _check(url: str, expected: bytes, hit: bool) -> None:
    with urllib.request.urlopen(url) as response:
        body = response.read()
        cache = response.headers.get("X-Cache")
    if body != expected:
        raise SystemExit(f"{url} answered {len(body)} bytes, not the file's {len(expected)}")
    if hit and cache != HIT:
        raise SystemExit(f"{url} is not a cache hit: X-Cache {cache!r}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: run `make bench-deps` (apt-get install wrk)")
    results: dict[str, object] = {"file": ASSET, "nginx_workers": 1}
    with overcast_up(APP) as node:
        if node.app_dir is None:
            raise RuntimeError("overcast_up gives the app's folder")
        folder = node.app_dir / "public"
        expected = (folder / ASSET.lstrip("/")).read_bytes()
        results["file_bytes"] = len(expected)
        edge_url = f"{node.base}{ASSET}"
        # The first request fills the cache; the rest must be hits.
        _check(edge_url, expected, hit=False)
        for _ in range(20):
            _check(edge_url, expected, hit=True)
        with nginx_up(folder) as nginx:
            nginx_url = f"{nginx.base}{ASSET}"
            _check(nginx_url, expected, hit=False)
            for conns in (1, 16):
                for name, url in (("nginx", nginx_url), ("overcast", edge_url)):
                    wrk(url, conns, 2)  # warm-up
                    r = wrk(url, conns, args.seconds)
                    results[f"{name}_c{conns}"] = r.__dict__
        # Still a hit after the runs: the figures are cache hits, not origin reads.
        _check(edge_url, expected, hit=True)
    for conns in (1, 16):
        n = typing.cast(dict[str, float], results[f"nginx_c{conns}"])
        o = typing.cast(dict[str, float], results[f"overcast_c{conns}"])
        ratio = o["requests_per_s"] / n["requests_per_s"]
        results[f"ratio_rps_c{conns}"] = round(ratio, 3)
        results[f"ratio_p50_c{conns}"] = round(o["p50_ms"] / n["p50_ms"], 3)
        print(
            f"{conns:>2} conn: overcast edge {o['requests_per_s']:.0f} req/s "
            f"(p50 {o['p50_ms']:.3f} ms, p99 {o['p99_ms']:.3f} ms, errors {o['errors']}) vs "
            f"nginx 1 worker {n['requests_per_s']:.0f} req/s "
            f"(p50 {n['p50_ms']:.3f} ms, p99 {n['p99_ms']:.3f} ms, errors {n['errors']}) "
            f"→ ratio overcast/nginx {ratio:.2f}"
        )
    emit("edge_static", results)


if __name__ == "__main__":
    main()
