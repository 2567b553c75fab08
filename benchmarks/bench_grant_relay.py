"""Benchmark: a database round trip from inside a sandbox, through its network grant.

A sandboxed function reaches its database through a relay: a port on the sandbox's
loopback whose connections the platform pipes to the real endpoint. This measures the
cost of that hop on the round trips a database client makes: a sandboxed handler
runs N small request/response exchanges (like short queries) against a TCP echo
server on the host, once through the grant, and — the baseline, in the same run —
once unsandboxed, connecting directly.

Run: .venv/bin/python benchmarks/bench_grant_relay.py [--exchanges 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import tempfile
import threading
from pathlib import Path

import uvloop
from harness import emit

from overcast.runtime.sandbox import Endpoint
from overcast.testing import function, invoke, running_runtime, sandbox_config, write_handler

HANDLER = """
import socket, time

def handler(event, context):
    with socket.create_connection(("127.0.0.1", event["port"])) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        started = time.perf_counter()
        for _ in range(event["exchanges"]):
            sock.sendall(b"x" * 64)
            got = 0
            while got < 64:
                got += len(sock.recv(64 - got))
        return {"us_per_exchange": (time.perf_counter() - started) / event["exchanges"] * 1e6}
"""


def echo_server() -> tuple[socket.socket, int]:
    server = socket.create_server(("127.0.0.1", 0))

    def serve_one(conn: socket.socket) -> None:
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while data := conn.recv(65536):
                conn.sendall(data)

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return server, server.getsockname()[1]


async def measure(tmp: Path, sandboxed: bool, port: int, exchanges: int) -> float:
    code = write_handler(tmp / ("in" if sandboxed else "out"), HANDLER)
    grant = (Endpoint("127.0.0.1", port),)
    fn = function("db", code, network=grant, timeout_s=120.0)
    sandbox = sandbox_config() if sandboxed else None
    async with running_runtime(tmp / ("s" if sandboxed else "u"), [fn], sandbox=sandbox) as rt:
        event = json.dumps({"port": port, "exchanges": exchanges}).encode()
        await invoke(rt, "db", event)  # warm: the instance and the relay's first connection
        results = [json.loads((await invoke(rt, "db", event)).payload) for _ in range(3)]
    return min(r["us_per_exchange"] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--exchanges", type=int, default=2000)
    args = parser.parse_args()
    if sandbox_config() is None:
        raise SystemExit("this machine cannot build a sandbox")
    server, port = echo_server()
    uvloop.install()  # the event loop overcast up and serve run on
    with tempfile.TemporaryDirectory() as tmp:
        direct = asyncio.run(measure(Path(tmp), False, port, args.exchanges))
        relayed = asyncio.run(measure(Path(tmp), True, port, args.exchanges))
    server.close()
    print(
        f"64-byte round trip: direct {direct:.1f} µs, through the grant's relay "
        f"{relayed:.1f} µs → +{relayed - direct:.1f} µs ({relayed / direct:.2f}x)"
    )
    emit(
        "grant_relay",
        {
            "direct_us": round(direct, 1),
            "relayed_us": round(relayed, 1),
            "ratio": round(relayed / direct, 2),
        },
    )


if __name__ == "__main__":
    main()
