"""The edge: CloudFront's part (and Route53's host → stage routing).

Owns edge behaviors (path pattern → origin), the response cache and its policies,
what of a request reaches the origin (cache key and origin request policies, and the
credentials a response to which is never shared), compression, conditional and range
requests, custom error pages, and picking a stage by Host. Everything is pure and
tested without sockets; :class:`EdgeApp` is the thin ASGI adapter in front of each
stage's gateway app and static bucket.

May import: ``overcast.asgi``, ``overcast.errors``, the standard library, and ``brotli``
when installed (gzip only without it). Static buckets are reached through the small
:class:`StaticOrigin` protocol, never by importing ``overcast.storage``.
"""

from overcast.edge.asgi import X_CACHE_HIT, X_CACHE_MISS, EdgeApp
from overcast.edge.behaviors import BehaviorTable, compile_pattern
from overcast.edge.cache import CachedResponse, CacheStats, ResponseCache
from overcast.edge.cache_policy import cache_key, response_ttl
from overcast.edge.compression import negotiate
from overcast.edge.conditional import ByteRange, Unsatisfiable, not_modified, parse_range
from overcast.edge.config import (
    Behavior,
    CachePolicy,
    EdgeConfig,
    ErrorPage,
    KeySelection,
    OriginRequestPolicy,
    StageEdge,
    edge_config_from_template,
    parse_edge_config,
)
from overcast.edge.credentials import CredentialNames, credentials_from_template
from overcast.edge.errors import EdgeConfigError, EdgeError, InvalidationPathError
from overcast.edge.forwarding import OriginRequest, origin_request
from overcast.edge.hosts import HostTable
from overcast.edge.origins import DictBucket, ObjectInfo, StageOrigins, StaticInfo, StaticOrigin

__all__ = [
    "X_CACHE_HIT",
    "X_CACHE_MISS",
    "Behavior",
    "BehaviorTable",
    "ByteRange",
    "CachePolicy",
    "CacheStats",
    "CachedResponse",
    "CredentialNames",
    "DictBucket",
    "EdgeApp",
    "EdgeConfig",
    "EdgeConfigError",
    "EdgeError",
    "ErrorPage",
    "HostTable",
    "InvalidationPathError",
    "KeySelection",
    "ObjectInfo",
    "OriginRequest",
    "OriginRequestPolicy",
    "ResponseCache",
    "StageEdge",
    "StageOrigins",
    "StaticInfo",
    "StaticOrigin",
    "Unsatisfiable",
    "cache_key",
    "compile_pattern",
    "credentials_from_template",
    "edge_config_from_template",
    "negotiate",
    "not_modified",
    "origin_request",
    "parse_edge_config",
    "parse_range",
    "response_ttl",
]
