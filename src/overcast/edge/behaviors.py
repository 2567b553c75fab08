"""CloudFront path-pattern matching: which behavior serves a request path.

CloudFront's rules (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/
DownloadDistValuesCacheBehavior.html#DownloadDistValuesPathPattern and the
``PathPattern`` field of https://docs.aws.amazon.com/cloudfront/latest/APIReference/
API_CacheBehavior.html):

- ``*`` matches zero or more characters (slashes included), ``?`` exactly one;
- matching is case-sensitive and sees the path only, never the query string;
- a leading ``/`` is optional (``images/*.jpg`` == ``/images/*.jpg``);
- behaviors are tried in the order listed, the first match wins, and the default
  behavior ``*`` is always last.

overcast adds one extension the reference system needs: a pattern starting with
``re:`` is a Python regular expression, searched in the path (anchor it yourself).
Every pattern is compiled once, when the table is built.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from overcast.edge.config import Behavior

REGEX_PREFIX = "re:"
# CloudFront's limit on a path pattern's length.
MAX_PATTERN_LENGTH = 255


def validate_pattern(pattern: str) -> str | None:
    """Return what is wrong with ``pattern``, or ``None`` when it compiles."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"longer than {MAX_PATTERN_LENGTH} characters"
    try:
        compile_pattern(pattern)
    except re.error as exc:
        return f"invalid regular expression: {exc}"
    return None


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a CloudFront glob (or a ``re:`` regular expression) to a regex."""
    if pattern.startswith(REGEX_PREFIX):
        return re.compile(pattern[len(REGEX_PREFIX) :])
    glob = pattern if pattern.startswith("/") or pattern == "*" else "/" + pattern
    parts: list[str] = []
    for ch in glob:
        if ch == "*":
            parts.append(".*")
        elif ch == "?":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    # DOTALL: a path may hold a percent-decoded newline, and '*' must still span it.
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


class BehaviorTable:
    """An ordered behavior list compiled for matching; the last entry must be ``*``."""

    __slots__ = ("_compiled",)

    def __init__(self, behaviors: Sequence[Behavior]) -> None:
        if not behaviors or behaviors[-1].path_pattern != "*":
            raise ValueError("a behavior table ends with the default behavior '*'")
        self._compiled: tuple[tuple[re.Pattern[str], bool, Behavior], ...] = tuple(
            (
                compile_pattern(b.path_pattern),
                b.path_pattern.startswith(REGEX_PREFIX),
                b,
            )
            for b in behaviors
        )

    def match(self, path: str) -> Behavior:
        """The first behavior whose pattern matches ``path`` (the default one otherwise)."""
        for regex, is_regex, behavior in self._compiled:
            if (regex.search(path) if is_regex else regex.match(path)) is not None:
                return behavior
        return self._compiled[-1][2]
