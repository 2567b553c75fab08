"""The shared deploy history with several nodes writing: numbers stay consecutive,
and a store refuses a database whose schema is not its code's."""

from __future__ import annotations

import threading

import pytest

from overcast.cluster.errors import SchemaVersionError
from overcast.cluster.pg_deploy_store import PgDeployStore
from overcast.control.deploy_store import SUCCEEDED
from pg_support import PG_URL, pg_migrated, pg_schema

pytestmark = [pytest.mark.postgres]
__all__ = ["pg_migrated", "pg_schema"]


def test_a_store_on_an_unmigrated_database_is_refused(pg_schema: str) -> None:
    with pytest.raises(SchemaVersionError, match="overcast cluster migrate"):
        PgDeployStore(PG_URL, schema=pg_schema)


def test_nodes_deploying_and_publishing_at_once_get_consecutive_numbers(
    pg_migrated: str,
) -> None:
    stores = [PgDeployStore(PG_URL, schema=pg_migrated) for _ in range(2)]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def node(store: PgDeployStore, name: str) -> None:
        try:
            start.wait()
            for n in range(25):
                store.publish("shop", "Echo", "dev", f"{name}-{n}", "sha")
                record = store.create("dev", "shop", f"{name}-{n}".encode(), {"Echo": n})
                store.finish(record.id, SUCCEEDED)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=node, args=(s, f"n{i}")) for i, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        reader = stores[0]
        assert [v for v, _, _ in reader.versions("shop", "Echo")] == list(range(1, 51))
        history = reader.history("dev", "shop", limit=100)
        assert sorted(d.seq for d in history) == list(range(1, 51))
        current = reader.current("dev", "shop")
        assert current is not None
        assert current.status == SUCCEEDED
        assert reader.stacks() == {("dev", "shop"): current.id}
    finally:
        for store in stores:
            store.close()
