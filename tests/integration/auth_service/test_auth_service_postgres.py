"""examples/auth-service on PostgreSQL under `overcast up`: one connection per instance.

N concurrent clients make at most N instances, each holding one connection opened at
Init and reused; killing every connection mid-run (what a database restart does)
costs no request; and once the instances scale to zero (``--keep-alive 1``) their
connections are gone from ``pg_stat_activity``.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from auth_e2e_helpers import PgSchema, migrate, seeded_copy

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"
CLIENTS = 4
ROUNDS = 12
SCALE_TO_ZERO_DEADLINE_S = 30.0


def _connections_per_process(app: Any) -> dict[int, int]:
    """PostgreSQL connections (to :5432) held by each process overcast started."""
    counts: dict[int, int] = {}
    for proc in psutil.Process(app.process.pid).children(recursive=True):
        try:
            held = [c for c in proc.net_connections(kind="tcp") if c.raddr and c.raddr.port == 5432]
        except psutil.Error:
            continue
        if held:
            counts[proc.pid] = len(held)
    return counts


def _wait_for_no_connections(schema: PgSchema) -> None:
    deadline = time.monotonic() + SCALE_TO_ZERO_DEADLINE_S
    while schema.connections() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert schema.connections() == 0, "idle instances kept their database connections"


def test_n_clients_hold_at_most_n_connections_and_scale_to_zero_releases_them(
    running_app: Any, pg_schema: PgSchema, tmp_path: Path
) -> None:
    # The signing keys come from the store; the database URL is overridden, as an
    # operator may do with --parameter-overrides instead of writing the secret.
    app = running_app(
        seeded_copy(tmp_path / "seeded"),
        copy=False,
        parameter_overrides=[
            "Argon2TimeCost=1",
            "Argon2MemoryCostKiB=8192",
            f"DatabaseUrl={pg_schema.database_url}",
            "DatabaseEndpoint=127.0.0.1:5432",
        ],
        extra_args=["--keep-alive", "1"],
    )
    assert migrate(app)["schema_version"] == 2
    with app.client() as client:
        assert client.get("/auth/health").json()["database"] == "ok"
        for number in range(CLIENTS):
            created = client.post(
                "/auth/register", json={"email": f"c{number}@example.com", "password": PASSWORD}
            )
            assert created.status_code == 201, created.text
    # The migration's and registration's instances scale to zero first.
    _wait_for_no_connections(pg_schema)

    statuses: list[int] = []
    samples: list[tuple[int, dict[int, int]]] = []
    done = threading.Event()
    killed: list[int] = []

    def client_loop(number: int) -> None:
        with app.client() as client:
            for _ in range(ROUNDS):
                login = client.post(
                    "/auth/login",
                    json={"email": f"c{number}@example.com", "password": PASSWORD},
                )
                statuses.append(login.status_code)
                if login.status_code != 200:
                    continue
                token = login.json()["access_token"]
                me = client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
                statuses.append(me.status_code)

    def sampler() -> None:
        while not done.is_set():
            count = pg_schema.connections()
            samples.append((count, _connections_per_process(app)))
            if count and not killed:
                killed.append(pg_schema.terminate())  # a database restart, as clients see it
            time.sleep(0.02)

    watcher = threading.Thread(target=sampler)
    watcher.start()
    clients = [threading.Thread(target=client_loop, args=(n,)) for n in range(CLIENTS)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    done.set()
    watcher.join()

    assert statuses == [200] * len(statuses)
    assert len(statuses) == CLIENTS * ROUNDS * 2
    peak = max(count for count, _ in samples)
    assert 1 <= peak <= CLIENTS
    for _count, per_process in samples:
        assert all(held == 1 for held in per_process.values()), per_process
        assert len(per_process) <= CLIENTS
    assert killed
    assert killed[0] >= 1

    _wait_for_no_connections(pg_schema)
    with httpx.Client(base_url=app.base_url, timeout=30) as client:
        after = client.post("/auth/login", json={"email": "c0@example.com", "password": PASSWORD})
    assert after.status_code == 200
