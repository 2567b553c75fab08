"""The canonical Vault request path: clean as sent, clean once decoded, case kept."""

from __future__ import annotations

import pytest

from overcast.secrets.request_path import (
    CanonicalPath,
    Redirect,
    Refusal,
    clean_path,
    is_canonical,
    resolve,
)


@pytest.mark.parametrize(
    ("path", "cleaned"),
    [
        # Go's path.Clean examples, with ServeMux's rooting and kept final slash.
        ("/a/b", "/a/b"),
        ("/a//b", "/a/b"),
        ("/a/./b", "/a/b"),
        ("/a/../b", "/b"),
        ("/../a", "/a"),
        ("/a/b/", "/a/b/"),
        ("/a/b//", "/a/b/"),
        ("/a/b/.", "/a/b"),
        ("/a/b/..", "/a"),
        ("a/b", "/a/b"),
        ("", "/"),
        ("//", "/"),
    ],
)
def test_clean_path_follows_go_servemux(path: str, cleaned: str) -> None:
    assert clean_path(path) == cleaned


def test_a_clean_path_resolves_to_itself_without_prefix() -> None:
    assert resolve(b"/v1/secret/data/app/db") == CanonicalPath("secret/data/app/db", False)


def test_a_trailing_slash_is_kept_apart() -> None:
    assert resolve(b"/v1/secret/metadata/app/") == CanonicalPath("secret/metadata/app", True)


def test_case_is_kept() -> None:
    assert resolve(b"/v1/secret/data/Admin/X") == CanonicalPath("secret/data/Admin/X", False)


@pytest.mark.parametrize(
    ("raw", "location"),
    [
        (b"/v1/secret/data//admin/x", "/v1/secret/data/admin/x"),
        (b"/v1/secret/data/./admin/x", "/v1/secret/data/admin/x"),
        (b"/v1/secret/data/a/../admin/x", "/v1/secret/data/admin/x"),
        (b"/v1/secret/data/admin/x//", "/v1/secret/data/admin/x/"),
        (b"//v1/secret/data/x", "/v1/secret/data/x"),
    ],
)
def test_an_unclean_raw_path_is_redirected(raw: bytes, location: str) -> None:
    assert resolve(raw) == Redirect(location)


def test_a_redirect_keeps_the_query() -> None:
    assert resolve(b"/v1/secret//data/x", b"version=2") == Redirect("/v1/secret/data/x?version=2")


@pytest.mark.parametrize(
    "raw",
    [
        b"/v1/secret/data/%2Fadmin/x",
        b"/v1/secret/data/%2fadmin/x",
        b"/v1/secret/data/admin%2F%2F",
        b"/v1/secret/data/%2E/admin/x",
        b"/v1/secret/data/%2e%2e/admin/x",
        b"/v1/secret/data/a%2F..%2Fadmin/x",
        b"/v1%2F%2Fsecret/data/x",
    ],
)
def test_an_escape_that_makes_the_path_unclean_is_refused(raw: bytes) -> None:
    assert isinstance(resolve(raw), Refusal)


@pytest.mark.parametrize(
    "raw",
    [b"/v1/secret/data/%zz", b"/v1/secret/data/%2", b"/v1/secret/data/%", b"/v1/a%G1"],
)
def test_a_malformed_escape_is_refused(raw: bytes) -> None:
    refusal = resolve(raw)
    assert isinstance(refusal, Refusal)
    assert refusal.message.startswith("invalid URL escape")


@pytest.mark.parametrize(
    "raw", [b"/v1/secret/data/%00", b"/v1/secret/data/a%0Ab", b"/v1/secret/data/%ff", b"/v1/\x7f"]
)
def test_non_printable_or_non_utf8_is_refused(raw: bytes) -> None:
    assert isinstance(resolve(raw), Refusal)


def test_an_escaped_ordinary_character_is_the_same_path() -> None:
    assert resolve(b"/v1/secret/data/%61dmin/x") == CanonicalPath("secret/data/admin/x", False)
    assert resolve(b"/v1/secret/data/a%2Fb") == CanonicalPath("secret/data/a/b", False)
    assert resolve(b"/v1/secret/data/a%2F") == CanonicalPath("secret/data/a", True)


def test_a_path_outside_v1_is_refused() -> None:
    assert isinstance(resolve(b"/v2/secret"), Refusal)
    assert isinstance(resolve(b"/V1/secret"), Refusal)


@pytest.mark.parametrize(
    ("path", "canonical"),
    [("secret/data/x", True), ("", True), ("secret//x", False), ("/x", False), ("a/./b", False),
     ("a/..", False), ("x/", False)],
)  # fmt: skip
def test_is_canonical(path: str, canonical: bool) -> None:
    assert is_canonical(path) is canonical


def test_a_raw_control_character_is_refused_before_any_redirect() -> None:
    assert isinstance(resolve(b"/v1//secret\r\nLocation: x"), Refusal)
