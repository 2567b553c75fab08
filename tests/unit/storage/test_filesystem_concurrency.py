"""Concurrent writers and readers on one filesystem bucket: threads and processes.

Every version written is self-identifying (its bytes spell its writer and round) so a
read can be checked whole: a torn, mixed or partial object would fail the check.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from overcast.storage import FilesystemBucket, NoSuchKeyError

ROUNDS = 30
SIZE = 64 * 1024  # large enough that one write is many syscalls


def _version(writer: str, round_number: int) -> bytes:
    label = f"{writer}:{round_number};".encode()
    return (label * (SIZE // len(label) + 1))[:SIZE]


def _is_whole_version(data: bytes) -> bool:
    label = data.split(b";", 1)[0] + b";"
    return data == (label * (SIZE // len(label) + 1))[:SIZE]


def test_readers_never_see_a_partial_object_while_threads_overwrite_it(
    tmp_path: Path,
) -> None:
    bucket = FilesystemBucket(tmp_path / "b")
    bucket.put("hot", _version("seed", 0))
    stop = threading.Event()
    bad_reads: list[bytes] = []
    reads = [0]
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for round_number in range(ROUNDS):
                bucket.put("hot", _version(name, round_number))
        except BaseException as error:
            errors.append(error)

    def reader() -> None:
        try:
            while not stop.is_set():
                data, info = bucket.get("hot")
                reads[0] += 1
                if not _is_whole_version(data) or info.size != len(data):
                    bad_reads.append(data[:40])
        except BaseException as error:
            errors.append(error)

    readers = [threading.Thread(target=reader) for _ in range(3)]
    writers = [threading.Thread(target=writer, args=(f"w{i}",)) for i in range(4)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in readers:
        thread.join()
    assert errors == []
    assert bad_reads == []
    assert reads[0] > 0
    final, _info = bucket.get("hot")
    assert _is_whole_version(final)
    assert final.split(b";", 1)[0].endswith(f":{ROUNDS - 1}".encode())


def test_threads_writing_different_keys_in_one_folder_all_land(tmp_path: Path) -> None:
    bucket = FilesystemBucket(tmp_path / "b")
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            for round_number in range(10):
                bucket.put(f"dir/sub/k{index}-{round_number}", _version(str(index), round_number))
                if round_number % 3 == 0:
                    bucket.delete(f"dir/sub/k{index}-{round_number}")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    keys = [info.key for info in bucket.list("dir/")]
    assert len(keys) == 8 * 6
    assert keys == sorted(keys)
    for key in keys:
        assert _is_whole_version(bucket.get(key)[0])


_PROCESS_WRITER = """
import sys
from pathlib import Path
from overcast.storage import FilesystemBucket

root, name, rounds, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
bucket = FilesystemBucket(Path(root))
for round_number in range(rounds):
    label = f"{name}:{round_number};".encode()
    bucket.put("hot", (label * (size // len(label) + 1))[:size])
    bucket.put(f"{name}/{round_number}", label)
"""


def test_processes_overwriting_one_key_leave_a_whole_object_and_readers_see_no_tear(
    tmp_path: Path,
) -> None:
    root = tmp_path / "b"
    bucket = FilesystemBucket(root)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _PROCESS_WRITER, str(root), f"p{i}", str(ROUNDS), str(SIZE)]
        )
        for i in range(3)
    ]
    bad_reads = 0
    try:
        while any(process.poll() is None for process in processes):
            try:
                data, _info = bucket.get("hot")
            except NoSuchKeyError:
                continue
            if not _is_whole_version(data):
                bad_reads += 1
        assert [process.wait(timeout=60) for process in processes] == [0, 0, 0]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert bad_reads == 0
    assert _is_whole_version(bucket.get("hot")[0])
    assert len(list(bucket.list("p"))) == 3 * ROUNDS
