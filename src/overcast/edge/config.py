"""Per-stage edge configuration, parsed from a template's ``Metadata: overcast: edge:``.

The shape is documented in docs/edge.md. Everything here is a frozen dataclass built
once at deploy time; the request path only reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote

from overcast.edge.behaviors import validate_pattern
from overcast.edge.errors import EdgeConfigError

Origin = Literal["api", "static"]
SelectionMode = Literal["none", "all", "list"]

DEFAULT_STAGES = ("dev", "qa", "prod")

# RFC 3986 pchar's sub-delims, ':' and '@', plus '/': kept as they are when a decoded
# path is written back as a raw (percent-encoded) one.
RAW_PATH_SAFE = "/!$&'()*+,;=:@-._~"

# CloudFront accepts exactly these three method sets for a cache behavior.
# https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_AllowedMethods.html
_METHOD_SETS: tuple[frozenset[str], ...] = (
    frozenset({"GET", "HEAD"}),
    frozenset({"GET", "HEAD", "OPTIONS"}),
    frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}),
)
ALL_METHODS = _METHOD_SETS[2]


@dataclass(frozen=True, slots=True)
class KeySelection:
    """Which query strings / cookies enter the cache key (and reach the origin)."""

    mode: SelectionMode = "none"
    names: tuple[str, ...] = ()

    def includes(self, name: str) -> bool:
        """Whether ``name`` is part of the cache key under this selection."""
        if self.mode == "all":
            return True
        return self.mode == "list" and name in self.names


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """TTL bounds and cache-key contents, as a CloudFront cache policy has them.

    https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CachePolicyConfig.html
    """

    default_ttl: int = 86400
    min_ttl: int = 1
    max_ttl: int = 31536000
    query_strings: KeySelection = KeySelection()
    headers: tuple[str, ...] = ()  # lower-case names
    cookies: KeySelection = KeySelection()

    @property
    def disabled(self) -> bool:
        """True for a policy that never stores anything (CachingDisabled)."""
        return self.max_ttl == 0


# The two AWS managed policies apps use most, by their AWS names.
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html
CACHING_OPTIMIZED = CachePolicy(default_ttl=86400, min_ttl=1, max_ttl=31536000)
CACHING_DISABLED = CachePolicy(default_ttl=0, min_ttl=0, max_ttl=0)
MANAGED_POLICIES: Mapping[str, CachePolicy] = {
    "CachingOptimized": CACHING_OPTIMIZED,
    "CachingDisabled": CACHING_DISABLED,
}


@dataclass(frozen=True, slots=True)
class Behavior:
    """One cache behavior: a path pattern routed to an origin with a cache policy."""

    path_pattern: str
    origin: Origin
    cache: CachePolicy
    allowed_methods: frozenset[str] = frozenset({"GET", "HEAD"})
    compress: bool = True
    #: a path prefix removed before the request reaches the ``api`` origin (``/api``:
    #: ``/api/auth/login`` → ``/auth/login``), as an API Gateway custom domain's API
    #: mapping with key ``api`` does; ``None`` forwards the path unchanged
    strip_prefix: str | None = None
    #: ``strip_prefix`` as the percent-encoded bytes ``raw_path`` starts with, computed
    #: once here so the request path only compares bytes
    strip_prefix_raw: bytes = field(default=b"", init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.strip_prefix is not None:
            raw = quote(self.strip_prefix, safe=RAW_PATH_SAFE).encode("ascii")
            object.__setattr__(self, "strip_prefix_raw", raw)


@dataclass(frozen=True, slots=True)
class ErrorPage:
    """A custom error response: origin ``status`` → ``path`` served as ``response_status``."""

    status: int
    path: str
    response_status: int
    ttl: int = 10  # CloudFront's default error caching minimum TTL


@dataclass(frozen=True, slots=True)
class StageEdge:
    """The edge of one stage (one CloudFront distribution)."""

    name: str
    domains: tuple[str, ...] = ()
    behaviors: tuple[Behavior, ...] = ()
    error_pages: tuple[ErrorPage, ...] = ()
    default_root_object: str = "index.html"
    #: a folder (relative to the template) whose files are this stage's static origin
    #: in local mode (``overcast up``); ``None`` when the stage has no static folder
    static_dir: str | None = None


@dataclass(frozen=True, slots=True)
class EdgeConfig:
    """The whole edge: an optional platform domain and one :class:`StageEdge` per stage."""

    domain: str | None = None
    stages: Mapping[str, StageEdge] = field(default_factory=dict)
    #: the stage ``overcast up`` serves to loopback hosts (127.0.0.1, localhost, ::1);
    #: ``None`` means the first configured stage
    local_stage: str | None = None

    @property
    def loopback_stage(self) -> str | None:
        """The stage local-mode requests to 127.0.0.1/localhost reach, if any stage exists."""
        if self.local_stage is not None:
            return self.local_stage
        return next(iter(self.stages), None)


def default_behavior(origin: Origin = "api") -> Behavior:
    """The behavior a stage gets when its list does not end in ``*``."""
    return Behavior(
        path_pattern="*",
        origin=origin,
        cache=CACHING_DISABLED if origin == "api" else CACHING_OPTIMIZED,
        allowed_methods=ALL_METHODS if origin == "api" else _METHOD_SETS[0],
        compress=True,
    )


def edge_config_from_template(template: Mapping[str, object]) -> EdgeConfig:
    """Read ``Metadata: overcast: edge:`` from a parsed template; absent → defaults."""
    metadata = template.get("Metadata")
    overcast = metadata.get("overcast") if isinstance(metadata, Mapping) else None
    edge = overcast.get("edge") if isinstance(overcast, Mapping) else None
    return parse_edge_config(edge)


def parse_edge_config(raw: object) -> EdgeConfig:
    """Validate and freeze an edge mapping (``None`` gives three default stages)."""
    if raw is None:
        raw = {}
    edge = _mapping(raw, "")
    _known_keys(
        edge, "", {"domain", "stages", "behaviors", "error_pages", "static_dir", "local_stage"}
    )
    domain = edge.get("domain")
    if domain is not None:
        domain = _domain(domain, "domain")
    shared_behaviors = _behaviors(edge.get("behaviors"), "behaviors")
    shared_errors = _error_pages(edge.get("error_pages"), "error_pages")
    shared_static = _static_dir(edge.get("static_dir"), "static_dir")

    stages_raw = edge.get("stages")
    if stages_raw is None:
        stages_raw = {name: {} for name in DEFAULT_STAGES}
    stages_map = _mapping(stages_raw, "stages")
    stages: dict[str, StageEdge] = {}
    seen_domains: dict[str, str] = {}
    for name, body in stages_map.items():
        where = f"stages.{name}"
        if not isinstance(name, str) or not name.isidentifier():
            raise EdgeConfigError(where, "a stage name must be a word like dev, qa or prod")
        stage_raw = _mapping(body if body is not None else {}, where)
        _known_keys(
            stage_raw,
            where,
            {"domains", "behaviors", "error_pages", "default_root_object", "static_dir"},
        )
        domains = tuple(
            _domain(d, f"{where}.domains[{i}]")
            for i, d in enumerate(_sequence(stage_raw.get("domains", []), f"{where}.domains"))
        )
        for i, d in enumerate(domains):
            if d in seen_domains:
                raise EdgeConfigError(
                    f"{where}.domains[{i}]", f"{d!r} is already mapped to stage {seen_domains[d]!r}"
                )
            seen_domains[d] = name
        behaviors = (
            _behaviors(stage_raw["behaviors"], f"{where}.behaviors")
            if "behaviors" in stage_raw
            else shared_behaviors
        )
        if not behaviors or behaviors[-1].path_pattern != "*":
            behaviors = (*behaviors, default_behavior())
        errors = (
            _error_pages(stage_raw["error_pages"], f"{where}.error_pages")
            if "error_pages" in stage_raw
            else shared_errors
        )
        root = stage_raw.get("default_root_object", "index.html")
        if not isinstance(root, str) or root.startswith("/") or not root:
            raise EdgeConfigError(
                f"{where}.default_root_object",
                "must be an object name like index.html (no leading /)",
            )
        static_dir = (
            _static_dir(stage_raw["static_dir"], f"{where}.static_dir")
            if "static_dir" in stage_raw
            else shared_static
        )
        stages[name] = StageEdge(name, domains, behaviors, errors, root, static_dir)
    local_stage = edge.get("local_stage")
    if local_stage is not None and local_stage not in stages:
        raise EdgeConfigError(
            "local_stage", f"{local_stage!r} is not a configured stage ({sorted(stages)})"
        )
    return EdgeConfig(domain=domain, stages=stages, local_stage=local_stage)


def _static_dir(raw: object, where: str) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip() or "\0" in raw:
        raise EdgeConfigError(where, "must be a folder path relative to the template, like public")
    return raw


def _behaviors(raw: object, where: str) -> tuple[Behavior, ...]:
    if raw is None:
        return ()
    out: list[Behavior] = []
    for i, item in enumerate(_sequence(raw, where)):
        out.append(_behavior(item, f"{where}[{i}]"))
    patterns = [b.path_pattern for b in out]
    if "*" in patterns[:-1]:
        raise EdgeConfigError(where, "the default path pattern '*' may only be the last behavior")
    return tuple(out)


def _behavior(raw: object, where: str) -> Behavior:
    item = _mapping(raw, where)
    _known_keys(
        item,
        where,
        {"path_pattern", "origin", "cache", "allowed_methods", "compress", "strip_prefix"},
    )
    pattern = item.get("path_pattern")
    if not isinstance(pattern, str) or not pattern:
        raise EdgeConfigError(f"{where}.path_pattern", "required, e.g. /api/* or 're:^/app/'")
    problem = validate_pattern(pattern)
    if problem:
        raise EdgeConfigError(f"{where}.path_pattern", problem)
    origin = item.get("origin", "api")
    if origin not in ("api", "static"):
        raise EdgeConfigError(f"{where}.origin", f"must be api or static, not {origin!r}")
    cache = _cache_policy(item.get("cache"), f"{where}.cache", origin)
    methods_raw = item.get("allowed_methods")
    if methods_raw is None:
        methods = ALL_METHODS if origin == "api" else _METHOD_SETS[0]
    else:
        methods = frozenset(
            str(m).upper() for m in _sequence(methods_raw, f"{where}.allowed_methods")
        )
        if methods not in _METHOD_SETS:
            raise EdgeConfigError(
                f"{where}.allowed_methods",
                "CloudFront allows exactly [GET, HEAD], [GET, HEAD, OPTIONS] or "
                "[GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE]",
            )
    compress = item.get("compress", True)
    if not isinstance(compress, bool):
        raise EdgeConfigError(f"{where}.compress", "must be true or false")
    strip_prefix = _strip_prefix(item.get("strip_prefix"), f"{where}.strip_prefix", origin)
    return Behavior(pattern, origin, cache, methods, compress, strip_prefix)


def _strip_prefix(raw: object, where: str, origin: object) -> str | None:
    if raw is None:
        return None
    if origin != "api":
        # A static origin's keys are the viewer's path; only an API has a mapping key.
        raise EdgeConfigError(where, "only a behavior whose origin is api may strip a prefix")
    if not isinstance(raw, str) or not raw.startswith("/"):
        raise EdgeConfigError(where, "must be a path prefix starting with /, like /api")
    if raw.endswith("/"):
        raise EdgeConfigError(where, "must not end with / (write /api, not /api/)")
    if any(ch in raw for ch in "?#*") or any(ord(ch) < 0x20 for ch in raw):
        raise EdgeConfigError(where, "must be a plain path: no ?, #, * or control characters")
    if "//" in raw:
        raise EdgeConfigError(where, "must not contain an empty segment (//)")
    return raw


def _cache_policy(raw: object, where: str, origin: object) -> CachePolicy:
    if raw is None:
        return CACHING_DISABLED if origin == "api" else CACHING_OPTIMIZED
    if isinstance(raw, str):
        if raw not in MANAGED_POLICIES:
            raise EdgeConfigError(
                where, f"unknown managed policy {raw!r}; use {sorted(MANAGED_POLICIES)}"
            )
        return MANAGED_POLICIES[raw]
    item = _mapping(raw, where)
    _known_keys(
        item, where, {"default_ttl", "min_ttl", "max_ttl", "query_strings", "headers", "cookies"}
    )
    ttls = {
        k: _non_negative_int(item.get(k, getattr(CACHING_OPTIMIZED, k)), f"{where}.{k}")
        for k in ("default_ttl", "min_ttl", "max_ttl")
    }
    if not ttls["min_ttl"] <= ttls["default_ttl"] <= ttls["max_ttl"]:
        raise EdgeConfigError(where, "TTLs must satisfy min_ttl <= default_ttl <= max_ttl")
    headers = tuple(
        sorted(str(h).lower() for h in _sequence(item.get("headers", []), f"{where}.headers"))
    )
    return CachePolicy(
        default_ttl=ttls["default_ttl"],
        min_ttl=ttls["min_ttl"],
        max_ttl=ttls["max_ttl"],
        query_strings=_selection(item.get("query_strings", "none"), f"{where}.query_strings"),
        headers=headers,
        cookies=_selection(item.get("cookies", "none"), f"{where}.cookies"),
    )


def _selection(raw: object, where: str) -> KeySelection:
    if raw in ("none", None):
        return KeySelection("none")
    if raw == "all":
        return KeySelection("all")
    if isinstance(raw, list) and all(isinstance(n, str) and n for n in raw):
        return KeySelection("list", tuple(sorted(set(raw))))
    raise EdgeConfigError(where, "must be none, all, or a list of names")


def _error_pages(raw: object, where: str) -> tuple[ErrorPage, ...]:
    if raw is None:
        return ()
    out: list[ErrorPage] = []
    for i, item_raw in enumerate(_sequence(raw, where)):
        w = f"{where}[{i}]"
        item = _mapping(item_raw, w)
        _known_keys(item, w, {"status", "path", "response_status", "ttl"})
        status = item.get("status")
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise EdgeConfigError(f"{w}.status", "must be a 4xx or 5xx status code")
        path = item.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise EdgeConfigError(f"{w}.path", "must be an object path starting with /")
        response_status = item.get("response_status", status)
        if not isinstance(response_status, int) or not 200 <= response_status <= 599:
            raise EdgeConfigError(f"{w}.response_status", "must be an HTTP status code")
        ttl = _non_negative_int(item.get("ttl", 10), f"{w}.ttl")
        out.append(ErrorPage(status, path, response_status, ttl))
    return tuple(out)


def _mapping(raw: object, where: str) -> Mapping[str, object]:
    if not isinstance(raw, Mapping):
        raise EdgeConfigError(where, f"must be a mapping, not {type(raw).__name__}")
    return raw


def _sequence(raw: object, where: str) -> list[object]:
    if not isinstance(raw, list):
        raise EdgeConfigError(where, f"must be a list, not {type(raw).__name__}")
    return raw


def _known_keys(item: Mapping[str, object], where: str, known: set[str]) -> None:
    unknown = sorted(str(k) for k in item if k not in known)
    if unknown:
        raise EdgeConfigError(where, f"unknown key(s) {unknown}; expected some of {sorted(known)}")


def _non_negative_int(raw: object, where: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise EdgeConfigError(where, "must be a whole number of seconds >= 0")
    return raw


def _domain(raw: object, where: str) -> str:
    if not isinstance(raw, str) or not raw or "/" in raw or ":" in raw or " " in raw:
        raise EdgeConfigError(
            where, "must be a host name like example.test (no scheme, port or path)"
        )
    return raw.lower().rstrip(".")
