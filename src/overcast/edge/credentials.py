"""Which request values say who the caller is: the edge never shares a response to them.

A shared cache must not hand one caller's response to another (RFC 9111 §3.5 for
``Authorization``). The edge keys responses on credentials or does not store them; to
do so it must know which values are credentials:

- always: ``Authorization``, ``Proxy-Authorization``, ``X-Api-Key`` (API Gateway's API
  key header), ``X-Amz-Security-Token`` (SigV4 session credentials), and every cookie
  (a session cookie may have any name);
- the identity sources of the template's authorizers (a Lambda authorizer's
  ``Identity.Headers`` / ``QueryStrings``, a TOKEN authorizer's ``Identity.Header``,
  a JWT authorizer's ``IdentitySource``), read from the SAM ``Auth`` of each
  ``AWS::Serverless::Api`` / ``HttpApi`` (and ``Globals``) and from
  ``AWS::ApiGateway::Authorizer`` / ``AWS::ApiGatewayV2::Authorizer``;
- a REQUEST authorizer receives the whole request and may decide on any part of it;
  with API Gateway's result cache on, its answer is cached by its identity sources
  alone, so those are what count; with the cache off (``ReauthorizeEvery: 0``) or no
  identity sources, every header and query string counts, except the few headers
  that never carry identity.

The template is read leniently: the template package validates it; anything this
module cannot read simply adds no names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

#: headers that are credentials whatever the template says
ALWAYS_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "x-amz-security-token"}
)
# Headers no authorizer reads an identity from, kept shareable even when a REQUEST
# authorizer without identity sources makes every other header count.
_NEVER_HEADERS: frozenset[str] = frozenset(
    {
        "accept", "accept-charset", "accept-encoding", "accept-language", "cache-control",
        "connection", "content-length", "content-type", "dnt", "host", "if-match",
        "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "origin",
        "pragma", "range", "referer", "te", "transfer-encoding", "upgrade-insecure-requests",
        "user-agent", "via",
    }
)  # fmt: skip
_NEVER_BYTES = frozenset(name.encode() for name in _NEVER_HEADERS)
_HEADER = "$request.header."
_QUERY = "$request.querystring."
# REST AWS::ApiGateway::Authorizer IdentitySource: method.request.header.Name, ...
_REST_HEADER = "method.request.header."
_REST_QUERY = "method.request.querystring."


@dataclass(frozen=True, slots=True)
class CredentialNames:
    """Header names (lower-case) and query string names that carry credentials."""

    headers: frozenset[str] = ALWAYS_HEADERS
    query_strings: frozenset[str] = frozenset()
    #: an authorizer may decide on any value: every query string and every header
    #: but a few count
    any_value: bool = False
    # The same names as bytes, for the request path (ASGI header names are bytes).
    _header_bytes: frozenset[bytes] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = frozenset(name.encode("latin-1") for name in self.headers)
        object.__setattr__(self, "_header_bytes", names)

    def is_header(self, name: str) -> bool:
        """Whether header ``name`` (lower-case) carries a credential."""
        return self.is_header_bytes(name.encode("latin-1", "replace"))

    def is_header_bytes(self, name: bytes) -> bool:
        """:meth:`is_header` for a header name as ASGI gives it (lower-case bytes)."""
        if name in self._header_bytes:
            return True
        return self.any_value and name not in _NEVER_BYTES and not name.startswith(b"sec-")

    def is_query_string(self, name: str) -> bool:
        """Whether query string parameter ``name`` carries a credential."""
        return self.any_value or name in self.query_strings

    def merged(self, other: CredentialNames) -> CredentialNames:
        """Both sets of names."""
        return CredentialNames(
            self.headers | other.headers,
            self.query_strings | other.query_strings,
            self.any_value or other.any_value,
        )


DEFAULT_CREDENTIALS = CredentialNames()


def credentials_from_template(template: Mapping[str, object]) -> CredentialNames:
    """The credentials a parsed template's authorizers read, with the ones always counted."""
    headers: set[str] = set(ALWAYS_HEADERS)
    queries: set[str] = set()
    any_value = False
    for auth in _auth_blocks(template):
        authorizers = auth.get("Authorizers")
        if not isinstance(authorizers, Mapping):
            continue
        for body in authorizers.values():
            if not isinstance(body, Mapping):
                continue
            found_h, found_q, reads_all = _sam_authorizer(body)
            headers |= found_h
            queries |= found_q
            any_value = any_value or reads_all
    for kind, props in _resources(template):
        if kind in ("AWS::ApiGateway::Authorizer", "AWS::ApiGatewayV2::Authorizer"):
            found_h, found_q, reads_all = _raw_authorizer(props)
            headers |= found_h
            queries |= found_q
            any_value = any_value or reads_all
    return CredentialNames(frozenset(headers), frozenset(queries), any_value)


def _resources(template: Mapping[str, object]) -> Iterable[tuple[object, Mapping[str, object]]]:
    resources = template.get("Resources")
    if not isinstance(resources, Mapping):
        return
    for resource in resources.values():
        if isinstance(resource, Mapping):
            props = resource.get("Properties")
            yield resource.get("Type"), props if isinstance(props, Mapping) else {}


def _auth_blocks(template: Mapping[str, object]) -> Iterable[Mapping[str, object]]:
    for kind, props in _resources(template):
        if kind in ("AWS::Serverless::Api", "AWS::Serverless::HttpApi"):
            auth = props.get("Auth")
            if isinstance(auth, Mapping):
                yield auth
    globals_ = template.get("Globals")
    if isinstance(globals_, Mapping):
        for section in ("Api", "HttpApi"):
            block = globals_.get(section)
            auth = block.get("Auth") if isinstance(block, Mapping) else None
            if isinstance(auth, Mapping):
                yield auth


def _sam_authorizer(body: Mapping[str, object]) -> tuple[set[str], set[str], bool]:
    headers: set[str] = set()
    queries: set[str] = set()
    source = body.get("IdentitySource")  # HTTP API JWT authorizer
    if source is not None:
        for item in _strings(source):
            _selection(item, headers, queries)
    identity = body.get("Identity")
    identity = identity if isinstance(identity, Mapping) else {}
    if "FunctionArn" not in body and "UserPoolArn" not in body:
        return headers, queries, False
    header = identity.get("Header")
    if isinstance(header, str) and header:
        headers.add(header.lower())
    for name in _strings(identity.get("Headers")):
        headers.add(name.lower())
    queries.update(_strings(identity.get("QueryStrings")))
    request_kind = body.get("FunctionPayloadType") == "REQUEST" or (
        "AuthorizerPayloadFormatVersion" in body or "EnableSimpleResponses" in body
    )
    if not request_kind:
        # TOKEN (and Cognito) authorizers read one header, Authorization by default.
        headers.add("authorization")
        return headers, queries, False
    reads_all = not (identity.get("Headers") or identity.get("QueryStrings")) or _uncached(
        identity.get("ReauthorizeEvery")
    )
    return headers, queries, reads_all


def _raw_authorizer(props: Mapping[str, object]) -> tuple[set[str], set[str], bool]:
    headers: set[str] = set()
    queries: set[str] = set()
    source = props.get("IdentitySource")
    items = [s.strip() for text in _strings(source) for s in text.split(",")]
    for item in items:
        _selection(item, headers, queries)
    kind = props.get("Type") or props.get("AuthorizerType")
    reads_all = kind == "REQUEST" and (
        not items or _uncached(props.get("AuthorizerResultTtlInSeconds"))
    )
    if kind == "TOKEN" and not headers:
        headers.add("authorization")
    return headers, queries, reads_all


def _uncached(ttl: object) -> bool:
    # API Gateway's default result TTL is 300 s; only an explicit 0 turns caching off.
    return ttl in (0, "0")


def _selection(item: str, headers: set[str], queries: set[str]) -> None:
    for prefix in (_HEADER, _REST_HEADER):
        if item.startswith(prefix):
            headers.add(item[len(prefix) :].lower())
    for prefix in (_QUERY, _REST_QUERY):
        if item.startswith(prefix):
            queries.add(item[len(prefix) :])


def _strings(raw: object) -> list[str]:
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list):
        return [item for item in raw if isinstance(item, str)]
    return []
