"""Soak: mixed traffic against a platform, watching every overcast process for leaks.

Not a test and not in CI. Starts ``overcast serve`` (sandboxed, instances idle out after
``--keep-alive`` seconds so cold starts keep happening), deploys benchmarks/apps/soak to
``dev`` and, for ``--minutes``, runs at once:

- warm traffic (``/warm``, one client in a loop) and static files through the edge;
- cold starts: a burst of concurrent ``/burst`` requests each time its instances idled out;
- errors (``/fail`` raises) and timeouts (``/timeout`` overruns its 1 s Timeout);
- a deploy of a changed version every ``--deploy-every`` seconds;
- secret writes and reads through the Vault API (hvac, the platform's root token);
- edge invalidations (``overcast invalidate``).

Each minute it prints the RSS and open descriptors of the platform process and of all
its descendants (zygotes, instances, relays), and the requests that failed: a response
other than the route's expected one (200; 500 for the failing handler; 500/502/504 for
the overrun), or no response. At the end it prints the growth per hour of each.

Run: .venv/bin/python benchmarks/soak.py [--minutes 30]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import hvac
import psutil
from harness import PYTHON, ROOT, free_port, wait_http

APP = ROOT / "benchmarks" / "apps" / "soak"
DOMAIN = "soak.test"
HOST = f"dev.{DOMAIN}"
EXPECTED = {
    "/warm": {200},
    "/burst": {200},
    "/assets/app.js": {200},
    "/fail": {500, 502},
    "/timeout": {500, 502, 504},
}


@dataclass
class Tally:
    """Requests and operations per kind, and what failed (with a sample of why)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    done: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    reasons: dict[str, str] = field(default_factory=dict)

    def record(self, kind: str, ok: bool, reason: str = "") -> None:
        with self.lock:
            self.done[kind] += 1
            if not ok:
                self.failed[kind] += 1
                self.reasons.setdefault(kind, reason)


@dataclass(frozen=True)
class Sample:
    minute: float
    platform_rss_mb: float
    platform_fds: int
    children: int
    children_rss_mb: float
    children_fds: int


def sample(platform: psutil.Process, minute: float) -> Sample:
    """RSS and open descriptors of the platform and of everything below it."""
    rss = platform.memory_info().rss / 2**20
    fds = platform.num_fds()
    count, child_rss, child_fds = 0, 0.0, 0
    for child in platform.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            child_rss += child.memory_info().rss / 2**20
            child_fds += child.num_fds()
            count += 1
    return Sample(minute, rss, fds, count, child_rss, child_fds)


def request_loop(
    stop: threading.Event, tally: Tally, base: str, path: str, pause_s: float, workers: int = 1
) -> Callable[[], None]:
    """A loop of GETs on ``path`` through the data port (``workers`` at once per round)."""

    def one(client: httpx.Client) -> None:
        try:
            status = client.get(f"{base}{path}", headers={"Host": HOST}).status_code
            tally.record(path, status in EXPECTED[path], f"HTTP {status}")
        except httpx.HTTPError as exc:
            tally.record(path, False, f"{type(exc).__name__}: {exc}")

    def run() -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                if workers == 1:
                    one(client)
                else:
                    threads = [threading.Thread(target=one, args=(client,)) for _ in range(workers)]
                    for thread in threads:
                        thread.start()
                    for thread in threads:
                        thread.join()
                stop.wait(pause_s)

    return run


@contextlib.contextmanager
def platform_up(
    tmp: Path, keep_alive_s: float
) -> Iterator[tuple[subprocess.Popen[bytes], int, int]]:
    port, admin = free_port(), free_port()
    log = (tmp / "serve.log").open("wb")
    argv = [
        PYTHON, "-m", "overcast", "serve",
        "--state-dir", str(tmp / "state"),
        "--port", str(port), "--admin-port", str(admin),
        "--domain", DOMAIN, "--stages", "dev",
        "--keep-alive", str(keep_alive_s),
    ]  # fmt: skip
    process = subprocess.Popen(
        argv,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{admin}/health", timeout=60)
        yield process, port, admin
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def cli(admin: int, state: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    argv = [PYTHON, "-m", "overcast", *args]
    argv += ["--target", f"http://127.0.0.1:{admin}", "--state-dir", str(state)]
    return subprocess.run(argv, capture_output=True, timeout=300, check=False)


def growth_per_hour(first: float, last: float, minutes: float) -> float:
    return (last - first) / minutes * 60 if minutes > 0 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--keep-alive", type=float, default=5.0, help="instance idle seconds")
    parser.add_argument("--deploy-every", type=float, default=60.0)
    args = parser.parse_args()

    tally = Tally()
    stop = threading.Event()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        app = tmp / "soak"
        shutil.copytree(APP, app)
        with platform_up(tmp, args.keep_alive) as (process, port, admin):
            state = tmp / "state"
            deployed = cli(admin, state, "deploy", str(app), "--stage", "dev")
            if deployed.returncode != 0:
                sys.exit(f"the first deploy failed:\n{deployed.stderr.decode()}")
            base = f"http://127.0.0.1:{port}"
            token = (state / "secrets" / "root-token").read_text().strip()
            vault = hvac.Client(url=f"http://127.0.0.1:{admin}", token=token)

            def deploys() -> None:
                version = 0
                while not stop.wait(args.deploy_every):
                    version += 1
                    (app / "src" / "version.txt").write_text(f"{version}\n")
                    done = cli(admin, state, "deploy", str(app), "--stage", "dev")
                    tally.record("deploy", done.returncode == 0, done.stderr.decode()[-300:])

            def secrets() -> None:
                n = 0
                while not stop.wait(2.0):
                    n += 1
                    try:
                        vault.secrets.kv.v2.create_or_update_secret(
                            path="dev/soak", secret={"n": str(n)}
                        )
                        read = vault.secrets.kv.v2.read_secret_version(
                            path="dev/soak", raise_on_deleted_version=True
                        )
                        ok = read["data"]["data"]["n"] == str(n)
                        tally.record("secret", ok, f"read back {read['data']['data']}")
                    except Exception as exc:  # any failure is a finding
                        tally.record("secret", False, f"{type(exc).__name__}: {exc}")

            def invalidations() -> None:
                while not stop.wait(20.0):
                    done = cli(admin, state, "invalidate", "/assets/*", "--stage", "dev")
                    tally.record("invalidate", done.returncode == 0, done.stderr.decode()[-300:])

            loops: list[Callable[[], None]] = [
                request_loop(stop, tally, base, "/warm", 0.0),
                request_loop(stop, tally, base, "/assets/app.js", 0.01),
                request_loop(stop, tally, base, "/burst", args.keep_alive + 3, 6),
                request_loop(stop, tally, base, "/fail", 0.5),
                request_loop(stop, tally, base, "/timeout", 3.0),
                deploys,
                secrets,
                invalidations,
            ]
            threads = [threading.Thread(target=loop, daemon=True) for loop in loops]
            for thread in threads:
                thread.start()

            platform = psutil.Process(process.pid)
            samples: list[Sample] = []
            started = time.monotonic()
            print(
                f"{'min':>5} {'platform MB':>11} {'fds':>5} {'procs':>5} "
                f"{'below MB':>9} {'fds':>5} {'requests':>9} {'failed':>6}"
            )
            minute = 0
            while time.monotonic() - started < args.minutes * 60:
                time.sleep(min(60.0, args.minutes * 60 - (time.monotonic() - started)))
                minute += 1
                if process.poll() is not None:
                    print("the platform exited")
                    break
                now = sample(platform, (time.monotonic() - started) / 60)
                samples.append(now)
                with tally.lock:
                    total, failed = sum(tally.done.values()), sum(tally.failed.values())
                print(
                    f"{now.minute:5.1f} {now.platform_rss_mb:11.1f} {now.platform_fds:5d} "
                    f"{now.children:5d} {now.children_rss_mb:9.1f} {now.children_fds:5d} "
                    f"{total:9d} {failed:6d}",
                    flush=True,
                )
            stop.set()
            for thread in threads:
                thread.join(timeout=60)

    print()
    for kind in sorted(tally.done):
        reason = f"  first: {tally.reasons[kind]}" if kind in tally.reasons else ""
        print(f"{kind:>16}: {tally.done[kind]:7d} done, {tally.failed[kind]:5d} failed{reason}")
    if len(samples) >= 3:
        # From the second minute: the first holds the start-up's own growth.
        first, last = samples[1], samples[-1]
        span = last.minute - first.minute
        below_mb = growth_per_hour(first.children_rss_mb, last.children_rss_mb, span)
        print(
            f"growth per hour from minute {first.minute:.0f}: platform "
            f"{growth_per_hour(first.platform_rss_mb, last.platform_rss_mb, span):+.1f} MB, "
            f"{growth_per_hour(first.platform_fds, last.platform_fds, span):+.1f} fds; "
            f"below it {below_mb:+.1f} MB, "
            f"{growth_per_hour(first.children_fds, last.children_fds, span):+.1f} fds"
        )


if __name__ == "__main__":
    main()
