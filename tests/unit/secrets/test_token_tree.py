"""The token tree with a fake clock: caps, cascades, orphans, and what a crash leaves."""

from __future__ import annotations

from pathlib import Path

import pytest

from overcast.secrets import (
    InvalidRequestError,
    PermissionDeniedError,
    TokenInfo,
    TokenRequest,
    TokenStore,
)
from overcast.secrets import tokens as tokens_module
from overcast.secrets.crypto import open_envelope
from overcast.secrets.tokens import SYSTEM_MAX_TTL_S

HOUR = 3600


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> TokenStore:
    tmp_path.mkdir(exist_ok=True)
    return TokenStore(tmp_path, open_envelope(tmp_path, {}), clock)


def _root(store: TokenStore) -> TokenInfo:
    return store.authenticate(store.create_root())


def _child(store: TokenStore, parent: TokenInfo, **options: object) -> tuple[str, TokenInfo]:
    token, _auth = store.create(parent, TokenRequest(policies=("p",), **options))  # type: ignore[arg-type]
    return token, store.authenticate(token)


def test_a_child_asking_for_more_than_its_parent_has_left_gets_what_is_left(
    store: TokenStore, clock: Clock
) -> None:
    _token, parent = _child(store, _root(store), ttl=HOUR, explicit_max_ttl=60)
    clock.now += 20
    child, info = _child(store, parent, ttl=87600 * HOUR, explicit_max_ttl=87600 * HOUR)
    assert info.lookup["ttl"] == 40
    assert info.lookup["explicit_max_ttl"] == 40
    assert info.lookup["orphan"] is False
    clock.now += 41
    with pytest.raises(PermissionDeniedError):
        store.authenticate(child)


def test_renewal_is_capped_by_the_parent_then_dies_with_it(store: TokenStore, clock: Clock) -> None:
    parent_token, parent = _child(store, _root(store), ttl=100)
    child, _info = _child(store, parent, ttl=10)
    assert store.renew(child, 1000)["lease_duration"] == 100
    clock.now += 50
    store.renew(parent_token, 1000)
    assert store.renew(child, 10_000)["lease_duration"] == 1000
    clock.now += 1001
    for token in (parent_token, child):
        with pytest.raises(PermissionDeniedError):
            store.authenticate(token)


def test_an_expired_ancestor_kills_the_subtree_and_the_next_write_drops_it(
    store: TokenStore, clock: Clock, tmp_path: Path
) -> None:
    root = _root(store)
    parent_token, parent = _child(store, root, ttl=100)
    child, child_info = _child(store, parent, ttl=100)
    grandchild, _info = _child(store, child_info, ttl=100)
    clock.now += 101
    store.create(root, TokenRequest(policies=("p",)))
    assert len(store.accessors()) == 2  # the root and the new token
    blob = (tmp_path / "tokens.rec").read_bytes()
    reopened = TokenStore(tmp_path, open_envelope(tmp_path, {}), clock)
    assert (tmp_path / "tokens.rec").read_bytes() == blob
    for token in (parent_token, child, grandchild):
        with pytest.raises(PermissionDeniedError):
            reopened.authenticate(token)


def test_revoke_removes_the_subtree_and_leaves_siblings(store: TokenStore) -> None:
    root = _root(store)
    a_token, a = _child(store, root)
    b_token, _b = _child(store, root)
    a1, a1_info = _child(store, a)
    a11, _info = _child(store, a1_info)
    store.revoke(a_token)
    for token in (a_token, a1, a11):
        with pytest.raises(PermissionDeniedError):
            store.authenticate(token)
    assert store.authenticate(b_token).lookup["orphan"] is False


def test_revoke_orphan_detaches_the_children(store: TokenStore) -> None:
    parent_token, parent = _child(store, _root(store))
    child, child_info = _child(store, parent)
    grandchild, _info = _child(store, child_info)
    store.revoke_orphan(parent_token)
    with pytest.raises(PermissionDeniedError):
        store.authenticate(parent_token)
    assert store.authenticate(child).lookup["orphan"] is True
    assert store.authenticate(grandchild).lookup["orphan"] is False


def test_an_orphan_is_not_capped_by_its_creator(store: TokenStore) -> None:
    _token, parent = _child(store, _root(store), ttl=60)
    _token2, auth = store.create(parent, TokenRequest(policies=("p",), ttl=HOUR), orphan=True)
    assert auth["orphan"] is True
    assert auth["lease_duration"] == HOUR


def test_the_system_max_ttl_caps_creation_and_cumulative_renewal(
    store: TokenStore, clock: Clock
) -> None:
    token, info = _child(store, _root(store), ttl=87600 * HOUR)
    assert info.lookup["ttl"] == SYSTEM_MAX_TTL_S
    clock.now += SYSTEM_MAX_TTL_S - HOUR
    assert store.renew(token, 10 * HOUR)["lease_duration"] == HOUR


def test_a_periodic_token_renews_past_the_system_max(store: TokenStore, clock: Clock) -> None:
    token, _auth = store.create(_root(store), TokenRequest(policies=("p",), ttl=HOUR, period=HOUR))
    for _ in range(800):
        clock.now += HOUR - 60
        store.renew(token, None)
    assert store.authenticate(token).lookup["ttl"] == HOUR


def test_spending_the_last_use_revokes_the_subtree(store: TokenStore) -> None:
    parent_token, parent = _child(store, _root(store), num_uses=2)
    child, _info = _child(store, parent)
    store.authenticate(parent_token)
    with pytest.raises(PermissionDeniedError):
        store.authenticate(child)


def test_a_non_root_parent_cannot_mint_root(store: TokenStore) -> None:
    _token, parent = _child(store, _root(store))
    with pytest.raises(PermissionDeniedError):
        store.create(parent, TokenRequest(policies=("root",)))


def test_a_crash_while_revoking_leaves_the_whole_tree(
    store: TokenStore, tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent_token, parent = _child(store, _root(store))
    child, _info = _child(store, parent)

    def crash(_path: Path, _data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tokens_module, "atomic_write", crash)
    with pytest.raises(OSError, match="No space"):
        store.revoke(parent_token)
    monkeypatch.undo()
    reopened = TokenStore(tmp_path, open_envelope(tmp_path, {}), clock)
    assert reopened.authenticate(child).lookup["orphan"] is False
    reopened.revoke(parent_token)
    with pytest.raises(PermissionDeniedError):
        reopened.authenticate(child)


def test_a_token_stored_before_the_tree_reads_as_an_orphan(
    store: TokenStore, tmp_path: Path
) -> None:
    token, _info = _child(store, _root(store))
    docs = store._load()
    for record in docs.values():
        record.pop("parent")
        record.pop("period")
    store._save(docs)
    assert store.authenticate(token).lookup["orphan"] is True


def test_a_bad_token_lookup_is_invalid(store: TokenStore) -> None:
    with pytest.raises(InvalidRequestError):
        store.lookup("hvs.nope")


def test_a_parent_revoked_after_it_authenticated_cannot_mint_an_orphan(
    store: TokenStore,
) -> None:
    parent_token, parent = _child(store, _root(store))
    store.revoke(parent_token)
    with pytest.raises(PermissionDeniedError):
        store.create(parent, TokenRequest(policies=("p",)))


def test_a_root_child_of_root_without_ttl_never_expires(store: TokenStore) -> None:
    _token, auth = store.create(_root(store), TokenRequest(policies=("root",)))
    assert auth["lease_duration"] == 0
    assert auth["orphan"] is False
