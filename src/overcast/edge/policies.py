"""Cache policies and origin request policies, as CloudFront has them, and AWS's managed ones.

A cache policy says what is in the cache key (and for how long responses are kept); an
origin request policy says what else from the viewer request reaches the origin. The
two together decide what an origin sees: every value in the cache key, and every value
the origin request policy adds, nothing else.
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/controlling-the-cache-key.html
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/controlling-origin-requests.html
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/understanding-how-origin-request-policies-and-cache-policies-work-together.html

The managed policies keep AWS's names and mean what AWS's mean:
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

SelectionMode = Literal["none", "all", "list", "all_except"]


@dataclass(frozen=True, slots=True)
class KeySelection:
    """Which query strings, cookies or headers a policy includes.

    ``names`` are the listed names (``list``) or the excluded ones (``all_except``);
    header names are lower-case, query string and cookie names case-sensitive.
    """

    mode: SelectionMode = "none"
    names: tuple[str, ...] = ()

    def includes(self, name: str) -> bool:
        """Whether ``name`` is selected."""
        if self.mode == "all":
            return True
        if self.mode == "list":
            return name in self.names
        if self.mode == "all_except":
            return name not in self.names
        return False


NONE = KeySelection("none")
ALL = KeySelection("all")


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """TTL bounds and cache-key contents, as a CloudFront cache policy has them.

    https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CachePolicyConfig.html
    """

    default_ttl: int = 86400
    min_ttl: int = 1
    max_ttl: int = 31536000
    query_strings: KeySelection = NONE
    headers: tuple[str, ...] = ()  # lower-case names; CloudFront allows a list only
    cookies: KeySelection = NONE

    @property
    def disabled(self) -> bool:
        """True for a policy that never stores anything (CachingDisabled)."""
        return self.max_ttl == 0


@dataclass(frozen=True, slots=True)
class OriginRequestPolicy:
    """What reaches the origin besides the cache key's values.

    https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_OriginRequestPolicyConfig.html
    ``headers`` ``all`` is CloudFront's ``allViewer``. ``Authorization`` can never be
    listed (CloudFront refuses such a policy); an ``all`` policy forwards it only while
    caching is off (see :mod:`overcast.edge.forwarding`).
    """

    headers: KeySelection = NONE
    cookies: KeySelection = NONE
    query_strings: KeySelection = NONE
    #: the managed policy's AWS name, for messages; ``None`` for a policy written out
    name: str | None = None


CACHING_OPTIMIZED = CachePolicy(default_ttl=86400, min_ttl=1, max_ttl=31536000)
CACHING_DISABLED = CachePolicy(default_ttl=0, min_ttl=0, max_ttl=0)
MANAGED_CACHE_POLICIES: Mapping[str, CachePolicy] = {
    "CachingOptimized": CACHING_OPTIMIZED,
    "CachingDisabled": CACHING_DISABLED,
}

#: no origin request policy: only the cache key's values reach the origin
NO_ORIGIN_REQUEST_POLICY = OriginRequestPolicy()
ALL_VIEWER = OriginRequestPolicy(ALL, ALL, ALL, "AllViewer")
MANAGED_ORIGIN_REQUEST_POLICIES: Mapping[str, OriginRequestPolicy] = {
    "AllViewer": ALL_VIEWER,
    # CloudFront then sends the origin's own domain as Host.
    "AllViewerExceptHostHeader": OriginRequestPolicy(
        KeySelection("all_except", ("host",)), ALL, ALL, "AllViewerExceptHostHeader"
    ),
    "CORS-CustomOrigin": OriginRequestPolicy(
        KeySelection("list", ("origin",)), NONE, NONE, "CORS-CustomOrigin"
    ),
    "CORS-S3Origin": OriginRequestPolicy(
        KeySelection(
            "list", ("access-control-request-headers", "access-control-request-method", "origin")
        ),
        NONE,
        NONE,
        "CORS-S3Origin",
    ),
    "HostHeaderOnly": OriginRequestPolicy(
        KeySelection("list", ("host",)), NONE, NONE, "HostHeaderOnly"
    ),
    "UserAgentRefererHeaders": OriginRequestPolicy(
        KeySelection("list", ("referer", "user-agent")), NONE, NONE, "UserAgentRefererHeaders"
    ),
}


def default_origin_request_policy(cache: CachePolicy) -> OriginRequestPolicy:
    """The origin request policy of a behavior that names none.

    With caching off the API sees the whole request (CachingDisabled with AllViewer,
    the usual pairing for an API behind CloudFront); with caching on, only the cache
    key reaches the origin, as on CloudFront without an origin request policy.
    """
    return ALL_VIEWER if cache.disabled else NO_ORIGIN_REQUEST_POLICY
