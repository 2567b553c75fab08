"""Route matching as API Gateway does it, compiled once from the app's routes.

Theory of operation
-------------------
Every route path is split into segments and inserted into a segment tree whose
nodes have static children (a dict), one ``{param}`` child and a set of greedy
``{name+}`` routes. A request walks the tree left to right preferring, at each
segment, the static child, then the ``{param}`` child, then a greedy route, and
backtracks when a branch yields nothing. That is AWS's "most specific route wins":

* HTTP APIs: "API Gateway selects the route with the most-specific match, using
  the following priorities: 1. Full match for a route and method. 2. Match for a
  route and method with a greedy path variable ({proxy+}). 3. The $default
  route." A route whose method is ``ANY`` matches every method not defined for
  the same path, so an exact method beats ``ANY`` on one path.
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html
  ("Routing API requests")
* REST APIs choose a *resource* by path first (static beats ``{param}`` beats
  ``{proxy+}``) and only then a method on it; a resource without the method (and
  without ``ANY``) answers 403 ``Missing Authentication Token`` rather than falling
  back to a less specific resource. Such a node is marked ``rest`` and stops the
  walk ("blocked").
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-set-up-simple-proxy.html

Paths with no variables are also kept in a plain dict, so the common case is one
dict lookup. A greedy variable matches one or more segments (``/{proxy+}`` does
not match ``/``), as on AWS. One trailing slash is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final
from urllib.parse import unquote

from overcast.gateway.errors import InvalidRouteError, RouteConflictError
from overcast.template.model import ApiKind, ApiSpec, FunctionSpec, RouteSpec

DEFAULT_ROUTE: Final = "$default"
ANY: Final = "ANY"


@dataclass(frozen=True, slots=True)
class Route:
    """One compiled route: what it serves, and where its path variables sit."""

    spec: RouteSpec
    api: ApiSpec
    function_name: str
    route_key: str  # "GET /hello/{name}", "ANY /{proxy+}" or "$default"
    resource_path: str  # the template path ("/hello/{name}") or "$default"
    params: tuple[tuple[int, str], ...] = ()  # (segment index, name)
    greedy: tuple[int, str] | None = None  # (first segment index, name without "+")

    @property
    def method(self) -> str:
        return self.spec.method


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """A request matched to a route, with its decoded path parameters (None if none)."""

    route: Route
    path_parameters: Mapping[str, str] | None


@dataclass(frozen=True, slots=True)
class RouteMiss:
    """No route serves the request; ``kind`` says whose error shape answers it.

    ``method_not_defined`` is True when a REST resource matched the path but has
    neither the method nor ``ANY`` (AWS still answers 403 Missing Authentication
    Token, so this only matters for diagnostics and CORS).
    """

    kind: ApiKind
    method_not_defined: bool = False


class _Node:
    __slots__ = ("greedy", "greedy_rest", "param", "rest", "routes", "static")

    def __init__(self) -> None:
        self.static: dict[str, _Node] = {}
        self.param: _Node | None = None
        self.routes: dict[str, Route] = {}
        self.rest = False
        self.greedy: dict[str, Route] = {}
        self.greedy_rest = False


# Identity sentinel: a REST resource matched the path but not the method.
_BLOCKED: Final[Mapping[str, Route]] = MappingProxyType({})


def _split(path: str) -> list[str]:
    """Segments of a path, without the leading slash and one trailing slash."""
    if path.endswith("/") and len(path) > 1:
        path = path[:-1]
    if path in ("", "/"):
        return []
    return path[1:].split("/") if path.startswith("/") else path.split("/")


def _accept(routes: dict[str, Route], rest: bool, method: str | None) -> Mapping[str, Route] | None:
    if not routes:
        return None
    if method is None or method in routes or ANY in routes:
        return routes
    return _BLOCKED if rest else None


def _walk(node: _Node, segs: list[str], i: int, method: str | None) -> Mapping[str, Route] | None:
    if i == len(segs):
        return _accept(node.routes, node.rest, method)
    child = node.static.get(segs[i])
    if child is not None:
        found = _walk(child, segs, i + 1, method)
        if found is not None:
            return found
    if node.param is not None and segs[i]:
        found = _walk(node.param, segs, i + 1, method)
        if found is not None:
            return found
    if node.greedy:
        return _accept(node.greedy, node.greedy_rest, method)
    return None


def _route_from_spec(
    spec: RouteSpec, api: ApiSpec, function_name: str
) -> tuple[Route, tuple[str, ...]]:
    """Compile one RouteSpec; also return its shape (segments with variables blanked)."""
    method = spec.method.upper()
    if spec.path == DEFAULT_ROUTE:
        if api.kind != "http":
            raise InvalidRouteError(
                f"route $default of function {spec.function} is on REST API {api.logical_id}; "
                "only HTTP APIs have a $default route",
                hint="use Path: /{proxy+} with Method: ANY on a REST API",
            )
        route = Route(spec, api, function_name, DEFAULT_ROUTE, DEFAULT_ROUTE)
        return route, (DEFAULT_ROUTE,)
    if not spec.path.startswith("/"):
        raise InvalidRouteError(
            f"route path {spec.path!r} of function {spec.function} must start with '/'"
        )
    segs = _split(spec.path)
    params: list[tuple[int, str]] = []
    greedy: tuple[int, str] | None = None
    shape: list[str] = []
    for index, seg in enumerate(segs):
        if seg.startswith("{") and seg.endswith("}") and len(seg) > 2:
            name = seg[1:-1]
            if name.endswith("+"):
                if index != len(segs) - 1:
                    raise InvalidRouteError(
                        f"greedy path variable {seg} in {spec.path} (function {spec.function}) "
                        "must be the last segment"
                    )
                greedy = (index, name[:-1])
                shape.append("{+}")
            else:
                params.append((index, name))
                shape.append("{}")
        else:
            shape.append(seg)
    route_key = DEFAULT_ROUTE if spec.path == DEFAULT_ROUTE else f"{method} {spec.path}"
    route = Route(spec, api, function_name, route_key, spec.path, tuple(params), greedy)
    return route, tuple(shape)


class RouteTable:
    """All routes of an app, served from the root of one port; immutable once built."""

    __slots__ = ("_default", "_miss_kind", "_root", "_static", "routes")

    def __init__(
        self,
        root: _Node,
        static: dict[str, dict[str, Route]],
        default: Route | None,
        miss_kind: ApiKind,
        routes: tuple[Route, ...],
    ) -> None:
        self._root = root
        self._static = static
        self._default = default
        self._miss_kind: ApiKind = miss_kind
        self.routes = routes

    @classmethod
    def build(
        cls,
        routes: Iterable[RouteSpec],
        apis: Mapping[str, ApiSpec],
        functions: Mapping[str, FunctionSpec] | None = None,
    ) -> RouteTable:
        """Compile ``routes``; raise :class:`RouteConflictError` naming both claimants.

        ``functions`` (by logical ID) resolves each route's function to its
        FunctionName; without it the logical ID is the name.
        """
        root = _Node()
        static: dict[str, dict[str, Route]] = {}
        default: Route | None = None
        claimed: dict[tuple[str, tuple[str, ...]], Route] = {}
        compiled: list[Route] = []
        for spec in routes:
            api = apis.get(spec.api)
            if api is None:
                raise InvalidRouteError(
                    f"route {spec.method} {spec.path} of function {spec.function} "
                    f"names API {spec.api}, which the app does not define"
                )
            fn = functions.get(spec.function) if functions is not None else None
            route, shape = _route_from_spec(spec, api, fn.name if fn else spec.function)
            method = DEFAULT_ROUTE if route.route_key == DEFAULT_ROUTE else spec.method.upper()
            other = claimed.get((method, shape))
            if other is not None:
                raise RouteConflictError(
                    f"route {route.route_key} is claimed twice: by API {other.api.logical_id} "
                    f"(function {other.spec.function}, event {other.spec.event_name}"
                    f"{_at(other)}) and by API {api.logical_id} (function {spec.function}, "
                    f"event {spec.event_name}{_at(route)})",
                    hint="all APIs of an app are served from the root of one port; "
                    "give one of the routes another path or method",
                )
            claimed[(method, shape)] = route
            compiled.append(route)
            if route.route_key == DEFAULT_ROUTE:
                default = route
                continue
            node = root
            segs = _split(spec.path)
            for index, seg in enumerate(shape):
                if seg == "{+}":
                    node.greedy[method] = route
                    node.greedy_rest = node.greedy_rest or api.kind == "rest"
                    break
                if seg == "{}":
                    if node.param is None:
                        node.param = _Node()
                    node = node.param
                else:
                    node = node.static.setdefault(segs[index], _Node())
            else:
                node.routes[method] = route
                node.rest = node.rest or api.kind == "rest"
                if not route.params:
                    static.setdefault("/" + "/".join(segs), node.routes)
        kinds = {api.kind for api in apis.values()}
        miss_kind: ApiKind = "rest" if kinds == {"rest"} else "http"
        return cls(root, static, default, miss_kind, tuple(compiled))

    @property
    def miss_kind(self) -> ApiKind:
        """Whose error shape answers a request no route serves (REST only if all APIs are)."""
        return self._miss_kind

    def resolve(self, method: str, raw_path: str) -> RouteMatch | RouteMiss:
        """The route serving ``method raw_path``, or which API type answers the miss."""
        routes, decoded = self._lookup(raw_path, method)
        if routes is None:
            if self._default is not None:
                return RouteMatch(self._default, None)
            return RouteMiss(self._miss_kind)
        if routes is _BLOCKED:
            return RouteMiss("rest", method_not_defined=True)
        route = routes.get(method) or routes[ANY]
        return RouteMatch(route, _parameters(route, decoded))

    def match(self, method: str, raw_path: str) -> RouteMatch | None:
        """The route serving ``method raw_path`` (``$default`` included), or None."""
        result = self.resolve(method, raw_path)
        return result if isinstance(result, RouteMatch) else None

    def routes_at(self, raw_path: str) -> Mapping[str, Route]:
        """Routes by method of the most specific resource matching ``raw_path`` (any method)."""
        routes, _ = self._lookup(raw_path, None)
        return routes if routes is not None else {}

    def _lookup(
        self, raw_path: str, method: str | None
    ) -> tuple[Mapping[str, Route] | None, list[str]]:
        if "%" not in raw_path:
            key = raw_path[:-1] if raw_path.endswith("/") and len(raw_path) > 1 else raw_path
            routes = self._static.get(key)
            if routes is not None and (method is None or method in routes or ANY in routes):
                return routes, []
            decoded = _split(raw_path)
        else:
            decoded = [unquote(seg) for seg in _split(raw_path)]
        return _walk(self._root, decoded, 0, method), decoded


def _parameters(route: Route, decoded: list[str]) -> dict[str, str] | None:
    if not route.params and route.greedy is None:
        return None
    params = {name: decoded[index] for index, name in route.params}
    if route.greedy is not None:
        index, name = route.greedy
        params[name] = "/".join(decoded[index:])
    return params


def _at(route: Route) -> str:
    location = route.spec.location
    return f" at {location}" if location else ""
