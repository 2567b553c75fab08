"""A bounded in-memory response cache: segmented LRU, O(1) per operation.

Theory of operation. Two LRU segments, each an ``OrderedDict`` (O(1) lookup,
move-to-end and pop-oldest):

- *probation* receives every new entry;
- *protected* receives an entry on its second hit, and holds at most
  ``protected_ratio`` of the bytes and entries. When it overflows, its least
  recently used entry is demoted to the front of probation.

Eviction takes probation's oldest entry first, protected's only when probation is
empty. A flood of unique URLs (each seen once) therefore only churns probation and
cannot push out the pages that are hit repeatedly — plain LRU would lose them. The
bound (``max_bytes`` and ``max_entries``) holds after every ``put``.

Keys are full cache keys (stage first); nothing is ever looked up by a partial key,
so no response crosses stages or cache keys. Invalidation follows CloudFront's path
semantics (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/
invalidation-specifying-objects.html): a path starts with ``/``, may end in ``*`` to
cover every path with that prefix, and is case-sensitive. An invalidation of
``/index.html`` removes every variant of it (query strings, headers, cookies,
encodings) — a superset of CloudFront, where such variants need ``/index.html*``.
Invalidating walks the cache (O(n)); it is rare and off the request path.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from overcast.edge.cache_policy import CacheKey
from overcast.edge.errors import InvalidationPathError

# Bookkeeping bytes counted per entry on top of body and headers, so a flood of
# empty bodies is still bounded by max_bytes.
ENTRY_OVERHEAD = 256


@dataclass(frozen=True, slots=True)
class CachedResponse:
    """A stored response: what the origin sent, after compression."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    stored_at: float
    expires_at: float
    stage: str
    path: str
    size: int = field(init=False, compare=False)

    def __post_init__(self) -> None:
        # Computed once: eviction reads it on every put.
        size = len(self.body) + sum(len(k) + len(v) for k, v in self.headers)
        object.__setattr__(self, "size", size + len(self.path) + ENTRY_OVERHEAD)


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Counters since the cache was created."""

    hits: int
    misses: int
    entries: int
    bytes: int
    evictions: int
    invalidations: int


class ResponseCache:
    """Segmented-LRU cache bounded by ``max_bytes`` and ``max_entries``."""

    def __init__(
        self,
        *,
        max_bytes: int = 256 * 1024 * 1024,
        max_entries: int = 100_000,
        max_entry_bytes: int | None = None,
        protected_ratio: float = 0.8,
    ) -> None:
        if max_bytes <= 0 or max_entries <= 0:
            raise ValueError("cache bounds must be positive")
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        # One response may not take more than an eighth of the cache by default, so a
        # single large file cannot flush everything else.
        self.max_entry_bytes = max_entry_bytes if max_entry_bytes is not None else max_bytes // 8
        self._protected_max_bytes = int(max_bytes * protected_ratio)
        self._protected_max_entries = int(max_entries * protected_ratio)
        self._probation: OrderedDict[CacheKey, CachedResponse] = OrderedDict()
        self._protected: OrderedDict[CacheKey, CachedResponse] = OrderedDict()
        self._probation_bytes = 0
        self._protected_bytes = 0
        self._hits = 0
        self._misses = 0
        self._evictions = 0
        self._invalidations = 0

    def __len__(self) -> int:
        return len(self._probation) + len(self._protected)

    @property
    def bytes(self) -> int:
        """Bytes currently counted against ``max_bytes``."""
        return self._probation_bytes + self._protected_bytes

    def get(self, key: CacheKey, *, now: float) -> CachedResponse | None:
        """The fresh entry for ``key`` (counted as a hit), or ``None`` (a miss)."""
        entry = self._protected.get(key)
        if entry is not None:
            if entry.expires_at <= now:
                self._drop(key)
                self._misses += 1
                return None
            self._protected.move_to_end(key)
            self._hits += 1
            return entry
        entry = self._probation.pop(key, None)
        if entry is None:
            self._misses += 1
            return None
        self._probation_bytes -= entry.size
        if entry.expires_at <= now:
            self._misses += 1
            return None
        self._hits += 1
        self._promote(key, entry)
        return entry

    def put(self, key: CacheKey, entry: CachedResponse) -> bool:
        """Store ``entry`` under ``key``; ``False`` if it is too large to keep."""
        size = entry.size
        self._drop(key)
        if size > self.max_entry_bytes or size > self.max_bytes:
            return False
        self._probation[key] = entry
        self._probation_bytes += size
        self._evict()
        return True

    def invalidate(self, paths: Iterable[str], *, stage: str | None = None) -> int:
        """Drop entries whose path matches any of ``paths`` (in ``stage`` or all stages)."""
        exact: set[str] = set()
        prefixes: list[str] = []
        for path in paths:
            validate_invalidation_path(path)
            if path.endswith("*"):
                prefixes.append(path[:-1])
            else:
                exact.add(path)
        prefix_tuple = tuple(prefixes)
        doomed = [
            key
            for segment in (self._probation, self._protected)
            for key, entry in segment.items()
            if (stage is None or entry.stage == stage)
            and (entry.path in exact or entry.path.startswith(prefix_tuple))
        ]
        for key in doomed:
            self._drop(key)
        self._invalidations += len(doomed)
        return len(doomed)

    def clear(self) -> None:
        """Forget everything (counters are kept)."""
        self._probation.clear()
        self._protected.clear()
        self._probation_bytes = self._protected_bytes = 0

    def stats(self) -> CacheStats:
        """A snapshot of hit/miss counters and current size."""
        return CacheStats(
            hits=self._hits,
            misses=self._misses,
            entries=len(self),
            bytes=self.bytes,
            evictions=self._evictions,
            invalidations=self._invalidations,
        )

    def _promote(self, key: CacheKey, entry: CachedResponse) -> None:
        size = entry.size
        self._protected[key] = entry
        self._protected_bytes += size
        while self._protected and (
            self._protected_bytes > self._protected_max_bytes
            or len(self._protected) > self._protected_max_entries
        ):
            old_key, old = self._protected.popitem(last=False)
            self._protected_bytes -= old.size
            if old_key == key:
                # Too big for the protected segment on its own: keep it on probation.
                self._probation[old_key] = old
                self._probation_bytes += old.size
                break
            self._probation[old_key] = old
            self._probation.move_to_end(old_key, last=False)
            self._probation_bytes += old.size
        self._evict()

    def _evict(self) -> None:
        while (
            self._probation_bytes + self._protected_bytes > self.max_bytes
            or len(self._probation) + len(self._protected) > self.max_entries
        ):
            if self._probation:
                _, old = self._probation.popitem(last=False)
                self._probation_bytes -= old.size
            else:
                _, old = self._protected.popitem(last=False)
                self._protected_bytes -= old.size
            self._evictions += 1

    def _drop(self, key: CacheKey) -> None:
        entry = self._probation.pop(key, None)
        if entry is not None:
            self._probation_bytes -= entry.size
        entry = self._protected.pop(key, None)
        if entry is not None:
            self._protected_bytes -= entry.size


def validate_invalidation_path(path: str) -> None:
    """Refuse a path CloudFront would refuse: no leading ``/``, or ``*`` not at the end."""
    if not path.startswith("/"):
        raise InvalidationPathError(f"invalidation path {path!r} must start with /")
    if "*" in path[:-1]:
        raise InvalidationPathError(
            f"invalidation path {path!r} may use * only as its last character"
        )


def validate_invalidation_paths(paths: Sequence[str]) -> None:
    """Validate every path before any is applied (all or nothing)."""
    for path in paths:
        validate_invalidation_path(path)
