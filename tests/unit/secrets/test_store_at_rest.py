"""Encryption at rest, the master key's life cycle, atomicity and concurrent writers."""

from __future__ import annotations

import base64
import multiprocessing
import os
import stat
import threading
from pathlib import Path

import pytest

from overcast.secrets import MasterKeyError, SealedRecordError, open_secrets
from overcast.secrets.errors import CasMismatchError, SecretNotFoundError


def test_records_hold_no_plaintext(tmp_path: Path) -> None:
    service = open_secrets(tmp_path, environ={})
    service.store.write("auth/jwt", {"private_key": "PLAINTEXT-MARKER-123"})
    service.policies.put("p", 'path "secret/data/PLAIN-POLICY-PATH" { capabilities = ["read"] }')
    blobs = b"".join(p.read_bytes() for p in (tmp_path / "secrets").rglob("*") if p.is_file())
    assert b"PLAINTEXT-MARKER-123" not in blobs
    assert b"auth/jwt" not in blobs
    assert service.initial_root_token is not None
    assert service.initial_root_token.encode() not in b"".join(
        p.read_bytes() for p in (tmp_path / "secrets").rglob("*.rec")
    )


def test_master_key_file_is_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        open_secrets(tmp_path, environ={})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "secrets" / "master.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "secrets").stat().st_mode) == 0o700
    for record in (tmp_path / "secrets").rglob("*.rec"):
        assert stat.S_IMODE(record.stat().st_mode) == 0o600


def test_wrong_master_key_fails_at_open(tmp_path: Path) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    open_secrets(tmp_path, environ={"OVERCAST_MASTER_KEY": key}).store.write("a", {"k": "v"})
    other = base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(MasterKeyError, match="does not open"):
        open_secrets(tmp_path, environ={"OVERCAST_MASTER_KEY": other})
    reopened = open_secrets(tmp_path, environ={"OVERCAST_MASTER_KEY": key})
    assert reopened.store.read("a").data == {"k": "v"}
    assert reopened.initial_root_token is None


def test_malformed_env_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MasterKeyError):
        open_secrets(tmp_path, environ={"OVERCAST_MASTER_KEY": "c2hvcnQ="})


def test_record_moved_to_another_path_fails_authentication(tmp_path: Path) -> None:
    store = open_secrets(tmp_path, environ={}).store
    store.write("a", {"k": "1"})
    store.write("b", {"k": "2"})
    files = sorted((tmp_path / "secrets" / "kv").glob("*.rec"))
    files[0].write_bytes(files[1].read_bytes())
    failures = 0
    for path in ("a", "b"):
        try:
            store.read(path)
        except SealedRecordError:
            failures += 1
    assert failures == 1


def test_interrupted_write_leaves_the_acknowledged_version(tmp_path: Path) -> None:
    store = open_secrets(tmp_path, environ={}).store
    store.write("a", {"k": "1"})
    kv = tmp_path / "secrets" / "kv"
    # A crash before os.replace leaves only a temp file behind.
    (kv / ".leftover.tmp").write_bytes(b"garbage")
    assert store.read("a").data == {"k": "1"}
    assert store.list_keys() == ["a"]


def test_threads_writing_concurrently_lose_no_version(tmp_path: Path) -> None:
    store = open_secrets(tmp_path, environ={}).store

    def writer(n: int) -> None:
        for i in range(10):
            store.write("shared", {"w": f"{n}-{i}"})

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.read_metadata("shared")["current_version"] == 40


def _process_writer(state: str, n: int) -> None:
    store = open_secrets(Path(state), environ={}).store
    for i in range(10):
        store.write("shared", {"w": f"{n}-{i}"})
        store.write(f"own/{n}", {"i": str(i)})


def test_processes_writing_concurrently_lose_no_version(tmp_path: Path) -> None:
    open_secrets(tmp_path, environ={})
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_process_writer, args=(str(tmp_path), n)) for n in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    store = open_secrets(tmp_path, environ={}).store
    assert store.read_metadata("shared")["current_version"] == 30
    assert store.list_keys("own") == ["0", "1", "2"]


def test_cas_conflict_and_missing_reads(tmp_path: Path) -> None:
    store = open_secrets(tmp_path, environ={}).store
    store.write("x", {"a": 1}, cas=0)
    with pytest.raises(CasMismatchError):
        store.write("x", {"a": 2}, cas=0)
    with pytest.raises(SecretNotFoundError):
        store.read("x", version=9)
