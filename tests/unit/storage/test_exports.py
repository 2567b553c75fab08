import sys

import overcast.storage as storage
from overcast.errors import OvercastError
from overcast.storage import (
    ChecksumMismatchError,
    InvalidKeyError,
    NoSuchKeyError,
    StorageError,
)


def test_every_exported_name_exists_and_is_listed_once() -> None:
    assert len(storage.__all__) == len(set(storage.__all__))
    for name in storage.__all__:
        assert hasattr(storage, name), name


def test_public_surface_is_exactly_the_documented_one() -> None:
    public = {name for name in vars(storage) if not name.startswith("_")}
    # s3 appears once something imported it (open_bucket imports it lazily).
    modules = {"artifacts", "bucket", "errors", "filesystem", "keys", "s3", "urls"}
    assert public - modules == set(storage.__all__)


def test_package_docstring_says_what_it_owns_and_may_import() -> None:
    doc = storage.__doc__ or ""
    assert "Owns" in doc
    assert "May import" in doc


def test_errors_are_rooted_in_overcast_error_and_carry_an_http_status() -> None:
    assert issubclass(StorageError, OvercastError)
    for error in (NoSuchKeyError, InvalidKeyError, ChecksumMismatchError):
        assert issubclass(error, StorageError)
    assert NoSuchKeyError("k").status == 404
    assert InvalidKeyError("k", "why").status == 400
    assert ChecksumMismatchError("k", "a", "b").status == 500


def test_storage_imports_no_other_overcast_package() -> None:
    for name in list(sys.modules):
        module = sys.modules[name]
        if not name.startswith("overcast.storage"):
            continue
        for value in vars(module).values():
            owner = getattr(value, "__module__", None)
            if isinstance(owner, str) and owner.startswith("overcast."):
                assert owner.startswith(("overcast.storage", "overcast.errors")), (name, owner)
