"""The deploy history: versions are immutable and numbered, the alias follows successes."""

from __future__ import annotations

from pathlib import Path

import pytest

from overcast.control.deploy_store import (
    FAILED,
    IN_PROGRESS,
    ROLLED_BACK,
    SUCCEEDED,
    DeployStore,
    DeployStoreError,
)


@pytest.fixture
def store(tmp_path: Path) -> DeployStore:
    return DeployStore(tmp_path / "deployments.sqlite3")


def test_publishing_unchanged_code_and_configuration_returns_the_latest_version(
    store: DeployStore,
) -> None:
    assert store.publish("Echo", "dev", "fp-a", "sha-a") == 1
    assert store.publish("Echo", "dev", "fp-a", "sha-a") == 1
    assert store.publish("Echo", "dev", "fp-b", "sha-b") == 2
    # going back to older code is a new version, as Lambda's PublishVersion makes one
    assert store.publish("Echo", "prod", "fp-a", "sha-a") == 3
    assert store.publish("Other", "dev", "fp-a", "sha-a") == 1
    assert store.versions("Echo") == [
        (1, "dev", "sha-a"),
        (2, "dev", "sha-b"),
        (3, "prod", "sha-a"),
    ]


def test_only_a_successful_deployment_moves_the_stage_alias(store: DeployStore) -> None:
    first = store.create("dev", b"one", {"Echo": 1})
    assert first.status == IN_PROGRESS
    assert first.id.startswith("d-")
    assert store.current("dev") is None
    store.finish(first.id, SUCCEEDED)
    second = store.create("dev", b"two", {"Echo": 2})
    store.finish(second.id, ROLLED_BACK, "alarm EchoErrors fired")
    current = store.current("dev")
    assert current is not None
    assert current.id == first.id
    rolled = store.get(second.id)
    assert rolled is not None
    assert (rolled.status, rolled.reason) == (ROLLED_BACK, "alarm EchoErrors fired")
    assert [d.seq for d in store.history("dev")] == [2, 1]
    assert store.stages() == {"dev": first.id}


def test_previous_skips_failures_and_identical_requests(store: DeployStore) -> None:
    ok = store.create("dev", b"one", {"Echo": 1})
    store.finish(ok.id, SUCCEEDED)
    failed = store.create("dev", b"two", {"Echo": 2})
    store.finish(failed.id, FAILED, "boom")
    same = store.create("dev", b"one", {"Echo": 1})
    store.finish(same.id, SUCCEEDED)
    assert store.previous("dev") is None  # everything before is failed or identical
    newer = store.create("dev", b"three", {"Echo": 3})
    store.finish(newer.id, SUCCEEDED)
    previous = store.previous("dev")
    assert previous is not None
    assert previous.id == same.id


def test_stages_have_their_own_sequences(store: DeployStore) -> None:
    assert store.create("dev", b"a", {}).seq == 1
    assert store.create("dev", b"b", {}).seq == 2
    assert store.create("prod", b"c", {}).seq == 1


def test_unfinished_deployments_are_failed_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "d.sqlite3"
    first = DeployStore(path)
    left = first.create("dev", b"x", {"Echo": 1})
    first.close()
    second = DeployStore(path)
    assert second.abandon_unfinished() == 1
    found = second.get(left.id)
    assert found is not None
    assert found.status == FAILED


def test_finishing_with_a_non_final_status_or_unknown_id_is_refused(store: DeployStore) -> None:
    record = store.create("dev", b"x", {})
    with pytest.raises(DeployStoreError):
        store.finish(record.id, IN_PROGRESS)
    with pytest.raises(DeployStoreError):
        store.finish("d-NOPE", SUCCEEDED)
