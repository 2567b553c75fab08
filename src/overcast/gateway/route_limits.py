"""Per-route throttling and REST API keys with usage plans, compiled once per app.

What API Gateway checks before a request reaches its integration, in its order
(usage plan limits, then the route's own limit):
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
("How throttling limit settings are applied in API Gateway")

1. ``ApiKeyRequired``: the ``x-api-key`` header must name a key of the route's
   usage plan, else 403 ``Forbidden`` (the INVALID_API_KEY gateway response).
2. The key's plan ``Throttle`` (a bucket per key): 429 ``Too Many Requests``.
3. The route's own throttle (REST MethodSettings, HTTP RouteSettings; a bucket per
   route): 429 ``Too Many Requests``.
4. The plan's ``Quota`` (a counter per key and period): 429 ``Limit Exceeded``.
   Counted last, so a request refused by a throttle does not use up quota.

All of it runs before the authorizer and before the body is read: a refused
request costs no function invocation. Routes with none of it have no entry, and
an app with no such route gets no :class:`RouteLimits` at all.

Usage (per-key buckets and quota counters) lives in a :class:`UsageLedger` that
can outlive one app, so a redeploy does not hand every key a fresh quota.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from overcast.gateway.api_keys import API_KEY_HEADER, ApiKey, ApiKeyStore
from overcast.gateway.error_responses import Fault
from overcast.gateway.messages import HttpRequest
from overcast.gateway.quota import QuotaCounter
from overcast.gateway.route_table import Route
from overcast.gateway.throttle import ThrottleLimit, TokenBucket
from overcast.template.model import ThrottleSettings, UsagePlanSpec

__all__ = ["KeyUsage", "RouteLimits", "UsageLedger", "needs_limits"]


def _limit(settings: ThrottleSettings) -> ThrottleLimit | None:
    """The bucket's limit; None when a zero rate or burst blocks every request."""
    if settings.rate_limit <= 0 or settings.burst_limit < 1:
        return None
    return ThrottleLimit(settings.rate_limit, settings.burst_limit)


class _Blocked:
    """A throttle of zero: API Gateway refuses every request."""

    __slots__ = ()

    def take(self, now: float) -> bool:
        return False


_BLOCKED = _Blocked()


def _bucket(settings: ThrottleSettings, now: float) -> TokenBucket | _Blocked:
    limit = _limit(settings)
    return TokenBucket(limit, now) if limit is not None else _BLOCKED


class KeyUsage:
    """One API key's state under one usage plan: its bucket and its quota counter."""

    __slots__ = ("bucket", "quota")

    def __init__(self, plan: UsagePlanSpec, now: float) -> None:
        self.bucket = _bucket(plan.throttle, now) if plan.throttle is not None else None
        self.quota = QuotaCounter(plan.quota, now) if plan.quota is not None else None


class UsageLedger:
    """Per-key usage of every usage plan, in memory (no I/O, no lock: one event loop)."""

    __slots__ = ("_usage",)

    def __init__(self) -> None:
        self._usage: dict[tuple[str, str], KeyUsage] = {}

    def usage(self, plan: UsagePlanSpec, key_id: str, now: float) -> KeyUsage:
        """The state of ``key_id`` under ``plan``, created on first use."""
        entry = self._usage.get((plan.logical_id, key_id))
        if entry is None:
            entry = self._usage[(plan.logical_id, key_id)] = KeyUsage(plan, now)
        return entry

    def remaining(self, plan: UsagePlanSpec, key_id: str, now: float) -> int | None:
        """Requests ``key_id`` has left in the current quota period (None: no quota)."""
        if plan.quota is None:
            return None
        entry = self._usage.get((plan.logical_id, key_id))
        if entry is None or entry.quota is None:
            return plan.quota.limit - plan.quota.offset
        return entry.quota.remaining(now)


@dataclass(slots=True)
class _Guard:
    """What one route checks, decided at build time."""

    bucket: TokenBucket | _Blocked | None
    key_required: bool
    plan: UsagePlanSpec | None


def needs_limits(routes: Iterable[Route]) -> bool:
    """Whether any route has a throttle or requires an API key."""
    return any(r.spec.throttle is not None or r.spec.api_key_required for r in routes)


class RouteLimits:
    """The guards of an app's limited routes, by route identity (one dict lookup)."""

    __slots__ = ("_guards", "_keys", "_ledger")

    def __init__(
        self,
        routes: Iterable[Route],
        now: float,
        *,
        api_keys: ApiKeyStore | None = None,
        ledger: UsageLedger | None = None,
    ) -> None:
        self._keys = api_keys
        self._ledger = ledger if ledger is not None else UsageLedger()
        # Keyed by id(): a Route holds mappings and cannot be hashed, and the route
        # table keeps every Route alive as long as this object.
        self._guards: dict[int, _Guard] = {}
        for route in routes:
            spec = route.spec
            if spec.throttle is None and not spec.api_key_required:
                continue
            self._guards[id(route)] = _Guard(
                bucket=_bucket(spec.throttle, now) if spec.throttle is not None else None,
                key_required=spec.api_key_required,
                plan=route.api.usage_plan if spec.api_key_required else None,
            )

    @property
    def ledger(self) -> UsageLedger:
        """Where per-key usage is counted."""
        return self._ledger

    def check(self, route: Route, request: HttpRequest, now: float) -> Fault | None:
        """Why ``request`` to ``route`` is refused, or None when it may go on."""
        guard = self._guards.get(id(route))
        if guard is None:
            return None
        usage = None
        if guard.key_required:
            key = self._key(request)
            plan = guard.plan
            if key is None or (key.usage_plan is not None and not _in_plan(key, plan)):
                return Fault.INVALID_API_KEY
            if plan is not None:
                usage = self._ledger.usage(plan, key.key_id, now)
                if usage.bucket is not None and not usage.bucket.take(now):
                    return Fault.THROTTLED
        if guard.bucket is not None and not guard.bucket.take(now):
            return Fault.THROTTLED
        if usage is not None and usage.quota is not None and not usage.quota.take(now):
            return Fault.QUOTA_EXCEEDED
        return None

    def _key(self, request: HttpRequest) -> ApiKey | None:
        if self._keys is None:
            return None
        value = request.header(API_KEY_HEADER)
        return self._keys.lookup(value) if value else None

    def __len__(self) -> int:
        return len(self._guards)


def _in_plan(key: ApiKey, plan: UsagePlanSpec | None) -> bool:
    return plan is not None and key.usage_plan in (plan.logical_id, plan.name)
