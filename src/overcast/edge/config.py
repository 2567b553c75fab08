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
from overcast.edge.credentials import (
    DEFAULT_CREDENTIALS,
    CredentialNames,
    credentials_from_template,
)
from overcast.edge.errors import EdgeConfigError
from overcast.edge.forwarding import ForwardingPlan
from overcast.edge.policies import (
    CACHING_DISABLED,
    CACHING_OPTIMIZED,
    MANAGED_CACHE_POLICIES,
    MANAGED_ORIGIN_REQUEST_POLICIES,
    NO_ORIGIN_REQUEST_POLICY,
    CachePolicy,
    KeySelection,
    OriginRequestPolicy,
    SelectionMode,
    default_origin_request_policy,
)

__all__ = [
    "ALL_METHODS",
    "CACHING_DISABLED",
    "CACHING_OPTIMIZED",
    "MANAGED_POLICIES",
    "Behavior",
    "CachePolicy",
    "EdgeConfig",
    "ErrorPage",
    "KeySelection",
    "Origin",
    "OriginRequestPolicy",
    "SelectionMode",
    "StageEdge",
    "default_behavior",
    "edge_config_from_template",
    "parse_edge_config",
]

Origin = Literal["api", "static"]

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


# The two AWS managed cache policies apps use most, by their AWS names (kept here under
# their old names for callers of this module).
MANAGED_POLICIES = MANAGED_CACHE_POLICIES


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
    #: what reaches the ``api`` origin besides the cache key; ``None``: the default of
    #: ``cache`` (see :attr:`forwarding`)
    origin_request: OriginRequestPolicy | None = None
    #: ``strip_prefix`` as the percent-encoded bytes ``raw_path`` starts with, computed
    #: once here so the request path only compares bytes
    strip_prefix_raw: bytes = field(default=b"", init=False, repr=False, compare=False)
    #: ``cache`` and :attr:`forwarding` compiled for the request path
    plan: ForwardingPlan = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "plan", ForwardingPlan(self.cache, self.forwarding))
        if self.strip_prefix is not None:
            raw = quote(self.strip_prefix, safe=RAW_PATH_SAFE).encode("ascii")
            object.__setattr__(self, "strip_prefix_raw", raw)

    @property
    def forwarding(self) -> OriginRequestPolicy:
        """The origin request policy in force (the cache policy's default if none is set)."""
        if self.origin_request is not None:
            return self.origin_request
        return default_origin_request_policy(self.cache)


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
    #: the request values that say who is calling (the template's authorizers' identity
    #: sources among them): a response to them is never shared unless they are keyed
    credentials: CredentialNames = DEFAULT_CREDENTIALS


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


_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


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
    """Read ``Metadata: overcast: edge:`` from a parsed template; absent → defaults.

    The template's authorizers' identity sources join the credentials of every stage.
    """
    metadata = template.get("Metadata")
    overcast = metadata.get("overcast") if isinstance(metadata, Mapping) else None
    edge = overcast.get("edge") if isinstance(overcast, Mapping) else None
    return parse_edge_config(edge, credentials=credentials_from_template(template))


def parse_edge_config(
    raw: object, *, credentials: CredentialNames = DEFAULT_CREDENTIALS
) -> EdgeConfig:
    """Validate and freeze an edge mapping (``None`` gives three default stages)."""
    if raw is None:
        raw = {}
    edge = _mapping(raw, "")
    _known_keys(
        edge,
        "",
        {
            "domain", "stages", "behaviors", "error_pages", "static_dir", "local_stage",
            "credentials",
        },
    )  # fmt: skip
    credentials = credentials.merged(_credentials(edge.get("credentials"), "credentials"))
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
        stages[name] = StageEdge(name, domains, behaviors, errors, root, static_dir, credentials)
    local_stage = edge.get("local_stage")
    if local_stage is not None and (not isinstance(local_stage, str) or local_stage not in stages):
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
        {
            "path_pattern", "origin", "cache", "origin_request", "allowed_methods", "compress",
            "strip_prefix",
        },
    )  # fmt: skip
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
    origin_request = _origin_request_policy(
        item.get("origin_request"), f"{where}.origin_request", cache
    )
    return Behavior(pattern, origin, cache, methods, compress, strip_prefix, origin_request)


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
        if raw not in MANAGED_CACHE_POLICIES:
            raise EdgeConfigError(
                where, f"unknown managed policy {raw!r}; use {sorted(MANAGED_CACHE_POLICIES)}"
            )
        return MANAGED_CACHE_POLICIES[raw]
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
        sorted(
            {
                _header_name(h, f"{where}.headers[{i}]")
                for i, h in enumerate(_sequence(item.get("headers", []), f"{where}.headers"))
            }
        )
    )
    query_strings = _selection(item.get("query_strings", "none"), f"{where}.query_strings")
    cookies = _selection(item.get("cookies", "none"), f"{where}.cookies")
    if ttls["max_ttl"] == 0 and (headers or query_strings.mode != "none" or cookies.mode != "none"):
        # CloudFront refuses cache key contents in a policy that caches nothing.
        raise EdgeConfigError(
            where,
            "a policy with max_ttl 0 caches nothing and can have no headers, cookies or "
            "query strings in its cache key; forward them with origin_request instead",
        )
    return CachePolicy(
        default_ttl=ttls["default_ttl"],
        min_ttl=ttls["min_ttl"],
        max_ttl=ttls["max_ttl"],
        query_strings=query_strings,
        headers=headers,
        cookies=cookies,
    )


def _origin_request_policy(raw: object, where: str, cache: CachePolicy) -> OriginRequestPolicy:
    if raw is None:
        return default_origin_request_policy(cache)
    if isinstance(raw, str):
        if raw == "none":
            return NO_ORIGIN_REQUEST_POLICY
        if raw not in MANAGED_ORIGIN_REQUEST_POLICIES:
            raise EdgeConfigError(
                where,
                f"unknown managed origin request policy {raw!r}; use none or one of "
                f"{sorted(MANAGED_ORIGIN_REQUEST_POLICIES)}",
            )
        return MANAGED_ORIGIN_REQUEST_POLICIES[raw]
    item = _mapping(raw, where)
    _known_keys(item, where, {"headers", "cookies", "query_strings"})
    headers = _selection(item.get("headers", "none"), f"{where}.headers", header_names=True)
    if headers.mode == "list" and "authorization" in headers.names:
        # CloudFront: "The parameter Headers contains Authorization that is not allowed".
        raise EdgeConfigError(
            f"{where}.headers",
            "Authorization cannot be forwarded by an origin request policy: put it in the "
            "cache policy's headers, so that each caller's response is cached apart",
        )
    return OriginRequestPolicy(
        headers=headers,
        cookies=_selection(item.get("cookies", "none"), f"{where}.cookies"),
        query_strings=_selection(item.get("query_strings", "none"), f"{where}.query_strings"),
    )


def _selection(raw: object, where: str, *, header_names: bool = False) -> KeySelection:
    """``none``, ``all``, a list of names, or ``{all_except: [names]}``."""
    if raw in ("none", None):
        return KeySelection("none")
    if raw == "all":
        return KeySelection("all")
    mode: SelectionMode = "list"
    names_raw = raw
    if isinstance(raw, Mapping):
        _known_keys(raw, where, {"all_except"})
        mode, names_raw = "all_except", raw.get("all_except")
        where = f"{where}.all_except"
    if isinstance(names_raw, list) and not names_raw and mode == "list":
        return KeySelection("none")
    if not isinstance(names_raw, list):
        raise EdgeConfigError(where, "must be none, all, a list of names, or {all_except: [names]}")
    if header_names:
        names = {_header_name(n, f"{where}[{i}]") for i, n in enumerate(names_raw)}
    else:
        names = {_name(n, f"{where}[{i}]") for i, n in enumerate(names_raw)}
    return KeySelection(mode, tuple(sorted(names)))


def _header_name(raw: object, where: str) -> str:
    # RFC 9110 §5.6.2 token characters.
    if not isinstance(raw, str) or not raw or not all(c in _TCHAR for c in raw):
        raise EdgeConfigError(where, "must be a header name like Accept-Language")
    if raw.lower() == "cookie":
        raise EdgeConfigError(where, "cookies are chosen by name under cookies, not as a header")
    return raw.lower()


def _name(raw: object, where: str) -> str:
    if not isinstance(raw, str) or not raw or any(ord(c) < 0x21 or c in ";=&" for c in raw):
        raise EdgeConfigError(where, "must be a query string or cookie name")
    return raw


def _credentials(raw: object, where: str) -> CredentialNames:
    """Extra credentials an app's functions read (those its authorizers read are known)."""
    if raw is None:
        return CredentialNames()
    item = _mapping(raw, where)
    _known_keys(item, where, {"headers", "query_strings"})
    headers = frozenset(
        _header_name(h, f"{where}.headers[{i}]")
        for i, h in enumerate(_sequence(item.get("headers", []), f"{where}.headers"))
    )
    queries = frozenset(
        _name(q, f"{where}.query_strings[{i}]")
        for i, q in enumerate(_sequence(item.get("query_strings", []), f"{where}.query_strings"))
    )
    return CredentialNames(DEFAULT_CREDENTIALS.headers | headers, queries)


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
