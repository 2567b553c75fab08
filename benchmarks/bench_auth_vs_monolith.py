"""Benchmark: the auth service on overcast vs the same core as a FastAPI monolith.

Issue 3's target: overcast ≥ 0.8 x the monolith's requests/s, with Argon2 at the same
parameters in both. Each client registers once, then loops login → me → refresh for
``--seconds``; both servers run in this one process's lifetime on SQLite files of their
own. Prints requests/s, p50/p99 per side and the ratios.

Run: .venv/bin/python benchmarks/bench_auth_vs_monolith.py [--seconds 10 --clients 4]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator

import httpx
from harness import PYTHON, ROOT, Served, emit, overcast_up, percentile, uvicorn_up

APP = ROOT / "examples" / "auth-service"
PASSWORD = "correct horse battery"


def argon2_env(args: argparse.Namespace) -> dict[str, str]:
    return {
        "ARGON2_TIME_COST": str(args.time_cost),
        "ARGON2_MEMORY_COST_KIB": str(args.memory_kib),
        "ARGON2_PARALLELISM": "1",
        # Limits out of the way: the loop logs in successfully, but many times.
        "LOGIN_MAX_FAILURES_PER_IP": "1000000",
    }


@contextlib.contextmanager
def monolith_up(args: argparse.Namespace) -> Iterator[Served]:
    """uvicorn running monolith/app.py with one worker per core, after the migration."""
    with tempfile.TemporaryDirectory() as state:
        env = {
            **os.environ,
            **argon2_env(args),
            "AUTH_STATE_DIR": state,
            "PYTHONPATH": str(APP / "src"),
        }
        subprocess.run([PYTHON, "-m", "authcore.migrate"], env=env, check=True)
        with uvicorn_up(
            "monolith.app:create_app",
            "/auth/health",
            "--factory",
            "--app-dir",
            str(APP),
            "--workers",
            str(args.workers),
            env=env,
        ) as served:
            yield served


def run_flow(base: str, args: argparse.Namespace, label: str) -> dict[str, float]:
    """All clients' loops against ``base``; figures over every request made."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = [0.0]
    ready = threading.Barrier(args.clients + 1)

    def client(number: int) -> None:
        email = f"{label}{number}-{time.time_ns()}@example.com"
        mine: list[float] = []
        with httpx.Client(base_url=base, timeout=60) as http:
            http.post("/auth/register", json={"email": email, "password": PASSWORD})
            ready.wait()
            while time.monotonic() < stop_at[0]:
                started = time.perf_counter()
                login = http.post("/auth/login", json={"email": email, "password": PASSWORD})
                mine.append(time.perf_counter() - started)
                if login.status_code != 200:
                    errors[0] += 1
                    continue
                tokens = login.json()
                started = time.perf_counter()
                me = http.get(
                    "/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
                )
                mine.append(time.perf_counter() - started)
                started = time.perf_counter()
                refreshed = http.post(
                    "/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
                )
                mine.append(time.perf_counter() - started)
                errors[0] += (me.status_code != 200) + (refreshed.status_code != 200)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.monotonic() + 3600
    ready.wait()
    began = time.monotonic()
    stop_at[0] = began + args.seconds
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    ms = [value * 1000 for value in latencies]
    return {
        "requests_per_s": round(len(ms) / elapsed, 1),
        "p50_ms": round(percentile(ms, 50), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "requests": len(ms),
        "errors": errors[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--time-cost", type=int, default=3)
    parser.add_argument("--memory-kib", type=int, default=65536)
    args = parser.parse_args()

    results: dict[str, object] = {
        "clients": args.clients,
        "argon2": f"t={args.time_cost} m={args.memory_kib}KiB p=1",
    }
    with monolith_up(args) as mono:
        run_flow(mono.base, args, "warm")  # warm-up, not measured
        results["monolith"] = run_flow(mono.base, args, "mono")
    overrides = [
        f"Argon2TimeCost={args.time_cost}",
        f"Argon2MemoryCostKiB={args.memory_kib}",
        "LoginMaxFailuresPerIp=1000000",
        # Empty values: generated development keys and SQLite in the copy's state folder,
        # as the monolith uses, instead of the secret store's `auth-service` secret.
        "JwtPrivateKeys=",
        "DatabaseUrl=",
        # Nor the `auth-service-smtp` secret: no mail is sent in the measured flow.
        "SmtpHost=127.0.0.1",
        "SmtpPort=1025",
        "SmtpUsername=",
        "SmtpPassword=",
    ]
    extra: list[str] = ["--keep-alive", "600"]
    for item in overrides:
        extra += ["--parameter-overrides", item]
    with overcast_up(APP, *extra) as node:
        migrate_path = "/2015-03-31/functions/MigrateFunction/invocations"
        migrated = httpx.post(
            f"http://127.0.0.1:{node.admin_port}{migrate_path}",
            content=b"{}",
            headers=node.signed_admin_headers("POST", migrate_path, b"{}"),
            timeout=120,
        )
        migrated.raise_for_status()
        run_flow(node.base, args, "warm")
        results["overcast"] = run_flow(node.base, args, "oc")
    mono_r = results["monolith"]
    oc_r = results["overcast"]
    assert isinstance(mono_r, dict)
    assert isinstance(oc_r, dict)
    results["ratio_rps"] = round(oc_r["requests_per_s"] / mono_r["requests_per_s"], 3)
    results["ratio_p50"] = round(oc_r["p50_ms"] / mono_r["p50_ms"], 3)
    results["ratio_p99"] = round(oc_r["p99_ms"] / mono_r["p99_ms"], 3)
    print(
        f"auth flow (login+me+refresh), {args.clients} clients, Argon2 {results['argon2']}:\n"
        f"  monolith  {mono_r['requests_per_s']:8.1f} req/s  p50 {mono_r['p50_ms']:.2f} ms"
        f"  p99 {mono_r['p99_ms']:.2f} ms  errors {mono_r['errors']}\n"
        f"  overcast  {oc_r['requests_per_s']:8.1f} req/s  p50 {oc_r['p50_ms']:.2f} ms"
        f"  p99 {oc_r['p99_ms']:.2f} ms  errors {oc_r['errors']}\n"
        f"  ratio overcast/monolith: {results['ratio_rps']} x req/s (target ≥ 0.8)"
    )
    emit("auth_vs_monolith", results)


if __name__ == "__main__":
    main()
