"""Content-addressed code: uploads verified by digest, unpacked once, nothing escapes."""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile
from pathlib import Path

import pytest

from overcast.control.code_store import CodeStore, CodeStoreError, unpack
from overcast.storage import FilesystemBucket, zip_directory


@pytest.fixture
def code(tmp_path: Path) -> CodeStore:
    return CodeStore(FilesystemBucket(tmp_path / "artifacts"), tmp_path / "code")


def _zip(entries: dict[str, bytes], modes: dict[str, int] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (modes or {}).get(name, stat.S_IFREG | 0o644) << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def test_an_upload_is_stored_under_its_digest_and_refused_under_another(code: CodeStore) -> None:
    data = _zip({"app.py": b"x = 1\n"})
    digest = hashlib.sha256(data).hexdigest()
    assert code.missing([digest]) == [digest]
    with pytest.raises(CodeStoreError, match="does not match"):
        code.put("0" * 64, data)
    code.put(digest, data)
    assert code.missing([digest]) == []
    assert code.get(digest) == data


def test_code_is_unpacked_once_with_its_modes(code: CodeStore, tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "app.py").write_text("x = 1\n")
    (source / "bootstrap").write_text("#!/bin/sh\n")
    (source / "bootstrap").chmod(0o755)
    data = zip_directory(source)
    digest = hashlib.sha256(data).hexdigest()
    code.put(digest, data)
    folder = code.code_dir(digest)
    assert (folder / "app.py").read_text() == "x = 1\n"
    assert (folder / "bootstrap").stat().st_mode & 0o111
    assert code.code_dir(digest) == folder  # the second call reuses the unpacked tree


@pytest.mark.parametrize("name", ["../evil.py", "/etc/evil", "a/../../evil", "a\\..\\evil"])
def test_entries_that_could_leave_the_folder_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(CodeStoreError, match="unsafe entry"):
        unpack(_zip({name: b"x"}), tmp_path)
    assert not (tmp_path.parent / "evil.py").exists()


def test_a_symlink_entry_is_refused(tmp_path: Path) -> None:
    data = _zip({"link": b"/etc/passwd"}, {"link": stat.S_IFLNK | 0o777})
    with pytest.raises(CodeStoreError, match="unsafe entry"):
        unpack(data, tmp_path)


def test_bytes_that_are_not_a_zip_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CodeStoreError, match="not a zip"):
        unpack(b"definitely not a zip", tmp_path)


def test_an_unknown_digest_is_not_a_path(code: CodeStore) -> None:
    with pytest.raises(CodeStoreError, match="not a sha256"):
        code.code_dir("../../etc")


def _stored(code: CodeStore, entries: dict[str, bytes]) -> tuple[str, Path]:
    data = _zip(entries)
    digest = hashlib.sha256(data).hexdigest()
    code.put(digest, data)
    return digest, code.code_dir(digest)


def test_unpacked_code_is_readable_by_other_users_and_compiled(code: CodeStore) -> None:
    _, tree = _stored(code, {"app.py": b"x = 1\n", "pkg/mod.py": b"y = 2\n"})
    assert stat.S_IMODE(tree.stat().st_mode) == 0o755
    assert list((tree / "__pycache__").glob("app.*.pyc"))


def test_a_version_restarted_from_unchanged_code_starts(code: CodeStore) -> None:
    digest, tree = _stored(code, {"app.py": b"x = 1\n"})
    assert code.code_dir(digest) == tree


@pytest.mark.parametrize(
    ("tamper", "says"),
    [
        (
            lambda tree: (tree / "app.py").write_text("import os; os.system('x')\n"),
            "app.py was changed",
        ),
        (lambda tree: (tree / "extra.py").write_text("x = 2\n"), "extra.py was added"),
        (lambda tree: (tree / "app.py").unlink(), "app.py was removed"),
        (lambda tree: (tree / "app.py").chmod(0o777), "app.py changed mode"),
    ],
)
def test_code_changed_on_disk_refuses_to_start(code: CodeStore, tamper: object, says: str) -> None:
    digest, tree = _stored(code, {"app.py": b"x = 1\n"})
    tamper(tree)  # type: ignore[operator]
    with pytest.raises(CodeStoreError, match=says) as info:
        code.code_dir(digest)
    assert "refusing to run it" in info.value.hint
