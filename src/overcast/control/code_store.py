"""Deployed code: content-addressed artifacts in a bucket, unpacked once into a cache.

An artifact is stored under its sha256 (``overcast.storage.artifacts``), so identical
code is uploaded and stored once, whatever stage or version uses it. A function
version runs from ``<cache>/<digest>/``, unpacked on first use into a temporary
folder and renamed into place, so a half-unpacked tree is never run. The tree is
owned by the platform and readable by everyone (sandboxed functions read it as their
own user, read-only); each time a version starts from a tree unpacked earlier, the
tree is checked file by file against its artifact (whose sha256 is its name), so code
changed on disk — by anyone — refuses to start instead of running.

Unpacking refuses what Lambda refuses and what could escape the folder: absolute
names, ``..``, NUL, links, and more than 250 MB unpacked (Lambda's limit for a
function and its layers, https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
"""

from __future__ import annotations

import compileall
import hashlib
import io
import os
import py_compile
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from overcast.errors import OvercastError
from overcast.storage import Bucket
from overcast.storage.artifacts import ArtifactUpload, artifact_key, get_artifact, put_artifact

MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
_HEX = frozenset("0123456789abcdef")


class CodeStoreError(OvercastError):
    """An artifact is missing, corrupt or unsafe to unpack."""


def is_digest(value: str) -> bool:
    """Whether ``value`` is a lower-case hex sha256 digest."""
    return len(value) == 64 and set(value) <= _HEX


class CodeStore:
    """Artifacts in ``bucket``; unpacked code under ``cache_dir``."""

    def __init__(self, bucket: Bucket, cache_dir: Path) -> None:
        self.bucket = bucket
        self.cache_dir = cache_dir
        cache_dir.mkdir(parents=True, exist_ok=True)

    def missing(self, digests: Iterable[str]) -> list[str]:
        """The digests the bucket does not hold yet (the ones a client must upload)."""
        return sorted({d for d in digests if not self.bucket.exists(artifact_key(d))})

    def put(self, digest: str, data: bytes) -> None:
        """Store ``data`` under ``digest``; refuse it when the bytes do not match."""
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise CodeStoreError(
                f"artifact upload does not match its name: sha256 {actual}, named {digest}",
                hint="upload the bytes whose sha256 is the name (the upload may be truncated)",
            )
        if not self.bucket.exists(artifact_key(digest)):
            put_artifact(self.bucket, data)

    def upload(self, digest: str, max_bytes: int) -> ArtifactUpload:
        """Receive artifact ``digest`` piece by piece, never whole in memory."""
        if not is_digest(digest):
            raise CodeStoreError(f"{digest!r} is not a sha256 digest")
        return ArtifactUpload(
            self.bucket, digest, max_bytes=max_bytes, spool_dir=self.cache_dir / ".uploads"
        )

    def get(self, digest: str) -> bytes:
        """An artifact's bytes, checksum verified."""
        return get_artifact(self.bucket, digest)

    def code_dir(self, digest: str) -> Path:
        """The folder holding the unpacked code of artifact ``digest`` (unpacked once)."""
        if not is_digest(digest):
            raise CodeStoreError(f"{digest!r} is not a sha256 digest")
        final = self.cache_dir / digest
        if final.is_dir():
            verify(self.get(digest), final, digest)
            return final
        data = self.get(digest)
        scratch = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}-", dir=self.cache_dir))
        try:
            unpack(data, scratch)
            scratch.chmod(0o755)  # mkdtemp's 0700 would lock sandboxed readers out
            # Compiled once here: a sandboxed instance cannot write its own bytecode.
            compileall.compile_dir(
                scratch,
                quiet=2,
                workers=1,
                invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
            )
            try:
                os.rename(scratch, final)
            except OSError:
                if not final.is_dir():  # not another deploy winning the same race
                    raise
        finally:
            if scratch.exists():
                shutil.rmtree(scratch, ignore_errors=True)
        return final


def _file_mode(zip_mode: int) -> int:
    return 0o755 if zip_mode & stat.S_IXUSR else 0o644


def verify(data: bytes, tree: Path, digest: str) -> None:
    """Check that ``tree`` holds exactly the files of the zip ``data``, byte for byte."""
    expected: dict[str, tuple[str, int]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            content = hashlib.sha256(archive.read(info)).hexdigest()
            expected[str(PurePosixPath(info.filename))] = (
                content,
                _file_mode(info.external_attr >> 16),
            )
    problems: list[str] = []
    found: set[str] = set()
    for root, _dirs, files in os.walk(tree):
        for name in files:
            path = Path(root) / name
            relative = path.relative_to(tree).as_posix()
            found.add(relative)
            want = expected.get(relative)
            if want is None:
                # Bytecode compiled at unpack (checked-hash: stale source is recompiled).
                if "__pycache__" not in path.relative_to(tree).parts:
                    problems.append(f"{relative} was added")
                continue
            with open(path, "rb") as handle:
                content = hashlib.file_digest(handle, "sha256").hexdigest()
            if content != want[0]:
                problems.append(f"{relative} was changed")
            elif stat.S_IMODE(path.lstat().st_mode) != want[1] or path.is_symlink():
                problems.append(f"{relative} changed mode")
    problems += [f"{name} was removed" for name in sorted(set(expected) - found)]
    if problems:
        raise CodeStoreError(
            f"the unpacked code of artifact {digest[:12]} no longer matches it: "
            + ", ".join(problems[:5])
            + (" …" if len(problems) > 5 else ""),
            hint=f"refusing to run it; remove {tree} to unpack the artifact again",
        )


def unpack(data: bytes, target: Path) -> None:
    """Unzip ``data`` into ``target``, refusing entries that could leave it."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise CodeStoreError(f"code artifact is not a zip file: {exc}") from exc
    with archive:
        total = 0
        for info in archive.infolist():
            name = info.filename
            path = PurePosixPath(name)
            mode = info.external_attr >> 16
            if (
                "\0" in name
                or path.is_absolute()
                or ".." in path.parts
                or "\\" in name
                or stat.S_ISLNK(mode)
            ):
                raise CodeStoreError(f"code artifact has an unsafe entry {name!r}")
            total += info.file_size
            if total > MAX_UNZIPPED_BYTES:
                raise CodeStoreError(
                    f"code is larger than {MAX_UNZIPPED_BYTES // (1024 * 1024)} MB unzipped",
                    hint="Lambda's limit too; move data out of the function's folder",
                )
            if info.is_dir():
                (target / path).mkdir(parents=True, exist_ok=True)
                continue
            destination = target / path
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, open(destination, "wb") as sink:
                shutil.copyfileobj(source, sink)
            os.chmod(destination, _file_mode(mode))
