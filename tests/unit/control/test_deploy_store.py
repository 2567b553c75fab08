"""The deploy history: versions are immutable and numbered per stack, aliases follow
successes, and a store from before stacks is migrated whole.

The behaviours run against both stores (``open_store``): the platform's SQLite file
and the cluster's PostgreSQL (skipped when it is down); the SQLite store's own
migration is its alone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from overcast.cluster.pg_deploy_store import PgDeployStore
from overcast.control.deploy_store import (
    DEFAULT_STACK,
    DELETE,
    FAILED,
    IN_PROGRESS,
    ROLLED_BACK,
    SUCCEEDED,
    DeployStore,
    DeployStoreError,
)
from pg_support import PG_URL, pg_migrated, pg_schema

__all__ = ["pg_migrated", "pg_schema"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Any]]:
    """Opens the store (again: a restart sees what was written before)."""
    opened: list[Any] = []
    if request.param == "sqlite":

        def make() -> Any:
            return DeployStore(tmp_path / "deployments.sqlite3")

    else:
        schema = request.getfixturevalue("pg_migrated")

        def make() -> Any:
            return PgDeployStore(PG_URL, schema=schema)

    def tracked() -> Any:
        opened.append(make())
        return opened[-1]

    yield tracked
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Callable[[], Any]) -> Any:
    return open_store()


def test_publishing_unchanged_code_and_configuration_returns_the_latest_version(
    store: DeployStore,
) -> None:
    assert store.publish("shop", "Echo", "dev", "fp-a", "sha-a") == 1
    assert store.publish("shop", "Echo", "dev", "fp-a", "sha-a") == 1
    assert store.publish("shop", "Echo", "dev", "fp-b", "sha-b") == 2
    # going back to older code is a new version, as Lambda's PublishVersion makes one
    assert store.publish("shop", "Echo", "prod", "fp-a", "sha-a") == 3
    assert store.publish("shop", "Other", "dev", "fp-a", "sha-a") == 1
    # another stack's function of the same name counts its own versions
    assert store.publish("blog", "Echo", "dev", "fp-z", "sha-z") == 1
    assert store.versions("shop", "Echo") == [
        (1, "dev", "sha-a"),
        (2, "dev", "sha-b"),
        (3, "prod", "sha-a"),
    ]


def test_only_a_successful_deployment_moves_the_stack_alias(store: DeployStore) -> None:
    first = store.create("dev", "shop", b"one", {"Echo": 1})
    assert first.status == IN_PROGRESS
    assert first.id.startswith("d-")
    assert store.current("dev", "shop") is None
    store.finish(first.id, SUCCEEDED)
    second = store.create("dev", "shop", b"two", {"Echo": 2})
    store.finish(second.id, ROLLED_BACK, "alarm EchoErrors fired")
    current = store.current("dev", "shop")
    assert current is not None
    assert current.id == first.id
    rolled = store.get(second.id)
    assert rolled is not None
    assert (rolled.status, rolled.reason) == (ROLLED_BACK, "alarm EchoErrors fired")
    assert [d.seq for d in store.history("dev", "shop")] == [2, 1]
    assert store.stacks() == {("dev", "shop"): first.id}


def test_stacks_of_a_stage_have_their_own_aliases_and_sequences(store: DeployStore) -> None:
    shop = store.create("dev", "shop", b"a", {})
    blog = store.create("dev", "blog", b"b", {})
    assert (shop.seq, blog.seq) == (1, 1)
    for record in (shop, blog):
        store.finish(record.id, SUCCEEDED)
    assert store.stacks("dev") == {("dev", "blog"): blog.id, ("dev", "shop"): shop.id}
    assert {d.stack for d in store.history("dev")} == {"shop", "blog"}
    assert [d.id for d in store.history("dev", "blog")] == [blog.id]


def test_a_deleted_stack_has_no_current_deployment_but_keeps_its_history(
    store: DeployStore,
) -> None:
    deployed = store.create("dev", "shop", b"a", {"Echo": 1})
    store.finish(deployed.id, SUCCEEDED)
    deleted = store.create("dev", "shop", b"", {}, kind=DELETE)
    store.finish(deleted.id, SUCCEEDED)
    assert store.current("dev", "shop") is None
    assert store.stacks() == {}
    assert [d.kind for d in store.history("dev", "shop")] == [DELETE, "deploy"]


def test_previous_skips_failures_and_identical_requests(store: DeployStore) -> None:
    ok = store.create("dev", "shop", b"one", {"Echo": 1})
    store.finish(ok.id, SUCCEEDED)
    failed = store.create("dev", "shop", b"two", {"Echo": 2})
    store.finish(failed.id, FAILED, "boom")
    same = store.create("dev", "shop", b"one", {"Echo": 1})
    store.finish(same.id, SUCCEEDED)
    assert store.previous("dev", "shop") is None  # everything before is failed or identical
    newer = store.create("dev", "shop", b"three", {"Echo": 3})
    store.finish(newer.id, SUCCEEDED)
    previous = store.previous("dev", "shop")
    assert previous is not None
    assert previous.id == same.id


def test_stages_have_their_own_sequences(store: DeployStore) -> None:
    assert store.create("dev", "shop", b"a", {}).seq == 1
    assert store.create("dev", "shop", b"b", {}).seq == 2
    assert store.create("prod", "shop", b"c", {}).seq == 1


def test_unfinished_deployments_are_failed_after_a_restart(
    open_store: Callable[[], Any],
) -> None:
    first = open_store()
    left = first.create("dev", "shop", b"x", {"Echo": 1})
    first.close()
    second = open_store()
    assert second.abandon_unfinished() == 1
    found = second.get(left.id)
    assert found is not None
    assert found.status == FAILED


def test_finishing_with_a_non_final_status_or_unknown_id_is_refused(store: DeployStore) -> None:
    record = store.create("dev", "shop", b"x", {})
    with pytest.raises(DeployStoreError):
        store.finish(record.id, IN_PROGRESS)
    with pytest.raises(DeployStoreError):
        store.finish("d-NOPE", SUCCEEDED)


def test_a_store_from_before_stacks_is_migrated_into_the_default_stack(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE versions (function TEXT, version INTEGER, stage TEXT, fingerprint TEXT,
            code_sha256 TEXT, created REAL, PRIMARY KEY (function, version));
        CREATE TABLE deployments (id TEXT PRIMARY KEY, stage TEXT, seq INTEGER, created REAL,
            finished REAL, status TEXT, kind TEXT, request BLOB, versions TEXT, message TEXT,
            reason TEXT DEFAULT '', UNIQUE (stage, seq));
        CREATE TABLE stages (stage TEXT PRIMARY KEY, current TEXT);
        INSERT INTO versions VALUES ('Echo', 1, 'dev', 'fp', 'sha', 1.0);
        INSERT INTO deployments VALUES ('d-OLD000001', 'dev', 1, 1.0, 2.0, 'Succeeded',
            'deploy', x'7b7d', '{"Echo": 1}', '', '');
        INSERT INTO stages VALUES ('dev', 'd-OLD000001');
        """
    )
    old.close()
    store = DeployStore(path)
    current = store.current("dev", DEFAULT_STACK)
    assert current is not None
    assert (current.id, current.stack, current.versions) == ("d-OLD000001", "default", {"Echo": 1})
    assert store.versions(DEFAULT_STACK, "Echo") == [(1, "dev", "sha")]
    # and the migrated store goes on numbering where it was
    assert store.publish(DEFAULT_STACK, "Echo", "dev", "fp2", "sha2") == 2
    store.close()
    assert DeployStore(path).current("dev", DEFAULT_STACK) is not None  # opened again: as is
