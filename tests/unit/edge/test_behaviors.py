import pytest
from hypothesis import given
from hypothesis import strategies as st

from overcast.edge import BehaviorTable
from overcast.edge.behaviors import compile_pattern
from overcast.edge.config import CACHING_DISABLED, Behavior


def _b(pattern: str) -> Behavior:
    return Behavior(pattern, "api", CACHING_DISABLED)


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/api/*", "/api/users/1", True),
        ("/api/*", "/api/", True),
        ("/api/*", "/api", False),
        ("/api/*", "/API/users", False),  # case-sensitive
        ("api/*", "/api/x", True),  # leading slash optional
        ("*.jpg", "/images/a/b.jpg", True),  # * spans slashes
        ("/images/*.jpg", "/images/a.jpeg", False),
        ("/file?.txt", "/file1.txt", True),
        ("/file?.txt", "/file12.txt", False),
        ("/a.b", "/aXb", False),  # dots are literal
        ("*", "/anything/at/all", True),
        ("re:^/app/[0-9]+$", "/app/42", True),
        ("re:^/app/[0-9]+$", "/app/x", False),
        ("re:\\.php$", "/x/index.php", True),  # regex is searched, anchors are the author's
    ],
)
def test_cloudfront_pattern_semantics(pattern: str, path: str, matches: bool) -> None:
    table = BehaviorTable([_b(pattern), _b("*")])
    assert (table.match(path).path_pattern == pattern) is matches


def test_first_match_in_order_wins_and_default_is_last() -> None:
    table = BehaviorTable([_b("/api/public/*"), _b("/api/*"), _b("*")])
    assert table.match("/api/public/x").path_pattern == "/api/public/*"
    assert table.match("/api/private").path_pattern == "/api/*"
    assert table.match("/index.html").path_pattern == "*"


def test_table_without_default_behavior_is_refused() -> None:
    with pytest.raises(ValueError):
        BehaviorTable([_b("/api/*")])


@given(st.text(alphabet="abc/.-_", max_size=20))
def test_literal_pattern_matches_only_itself(path: str) -> None:
    literal = "/" + path
    regex = compile_pattern(literal)
    assert regex.match(literal)
    assert not regex.match(literal + "x")
