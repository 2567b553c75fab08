"""Key validation: what every backend refuses, and that no accepted key leaves the root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from overcast.storage import InvalidKeyError, key_to_path, validate_key
from overcast.storage.keys import MAX_KEY_BYTES, validate_prefix

ROOT = Path("/srv/bucket")


@pytest.mark.parametrize(
    "key",
    [
        "index.html",
        "assets/app.js",
        "sha256/" + "a" * 64,
        "a/b/c/d.txt",
        "..hidden",
        "dots.../x",
        "sp ace/é/日本.txt",
        "x" * MAX_KEY_BYTES,
        "C/not-a-drive",
        "ab:c",
    ],
)
def test_ordinary_keys_are_accepted(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "empty"),
        ("..", "'..'"),
        ("../etc/passwd", "'..'"),
        ("a/../../b", "'..'"),
        ("a/..", "'..'"),
        ("./a", "'.'"),
        ("a/./b", "'.'"),
        ("/etc/passwd", "absolute"),
        ("a//b", "empty"),
        ("a/", "empty"),
        ("a\x00b", "control"),
        ("a\nb", "control"),
        ("a\x7fb", "control"),
        ("a\x85b", "control"),
        ("a\\..\\b", "backslash"),
        ("C:/Windows", "drive"),
        ("c:", "drive"),
        ("x" * (MAX_KEY_BYTES + 1), "bytes of UTF-8"),
        ("é" * 513, "bytes of UTF-8"),
        ("a\udc80", "surrogate"),
    ],
)
def test_dangerous_keys_are_refused_with_the_rule_they_break(key: str, reason: str) -> None:
    with pytest.raises(InvalidKeyError) as info:
        validate_key(key)
    assert reason in info.value.reason


def test_a_non_string_key_is_refused() -> None:
    with pytest.raises(InvalidKeyError):
        validate_key(b"bytes")


def test_a_segment_longer_than_the_file_system_allows_is_refused_for_paths() -> None:
    key = "y" * 256
    assert validate_key(key) == key  # S3 would take it ...
    with pytest.raises(InvalidKeyError, match="255"):
        key_to_path(ROOT, key)  # ... a file system cannot


def test_a_valid_key_maps_below_the_root() -> None:
    assert key_to_path(ROOT, "assets/app.js") == ROOT / "assets" / "app.js"


def test_a_listing_prefix_may_end_mid_segment_or_with_a_slash() -> None:
    assert validate_prefix("assets/") == "assets/"
    assert validate_prefix("a/.") == "a/."
    assert validate_prefix("") == ""


_segment_alphabet = st.sampled_from(
    ["a", "b", ".", "..", "/", "\\", "\x00", "\n", "C:", ":", "é", " ", "~", "%2e", "-"]
)


@given(st.lists(_segment_alphabet, max_size=12).map("".join))
def test_no_accepted_key_resolves_outside_the_root(key: str) -> None:
    try:
        path = key_to_path(ROOT, key)
    except InvalidKeyError:
        return
    resolved = os.path.normpath(path)
    assert os.path.commonpath([str(ROOT), resolved]) == str(ROOT)
    assert resolved != str(ROOT)
    # Two different keys never share a file: the mapping is one segment per name.
    assert Path(resolved).relative_to(ROOT).as_posix() == key


@given(st.text(max_size=40))
def test_no_accepted_arbitrary_text_key_resolves_outside_the_root(key: str) -> None:
    try:
        path = key_to_path(ROOT, key)
    except InvalidKeyError:
        return
    resolved = os.path.normpath(path)
    assert os.path.commonpath([str(ROOT), resolved]) == str(ROOT)
    assert Path(resolved).relative_to(ROOT).as_posix() == key
