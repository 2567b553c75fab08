"""A stage on a platform: its stacks, each with a live deployment switched atomically.

A :class:`LiveDeployment` is one deployment of one stack brought to life: its runtime
(the function versions it runs), its alias router, its gateway and — when the app has
an edge — its edge. A :class:`Stage` holds many stacks (apps) and routes each request
to one, as API Gateway custom domains do: by host (``<stack>.<stage host>``, which the
platform resolves and passes in the scope) or by base path (an API mapping: the
stack whose base path is the request's first path segment gets the request with that
segment removed; the stack without one serves the rest). Making another deployment
current is a single assignment, so a request runs entirely on the deployment it
started on. Each live deployment counts the requests inside it, and is retired
(runtime drained and closed) only once that count is zero: requests in flight during
a switch finish on the old version, new ones start on the new version, and none is
cut off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import orjson

from overcast.asgi import ASGIApp, Receive, Scope, Send, serve_lifespan
from overcast.control.alias_router import AliasRouter
from overcast.control.deploy_store import Deployment
from overcast.control.function_credentials import FunctionCredentials
from overcast.gateway import GatewayApp
from overcast.gateway.throttle import ThrottleLimit, TokenBucket
from overcast.observe.spend import SpendMeter, stack_cap_key
from overcast.runtime import Runtime
from overcast.template import AppModel

logger = logging.getLogger("overcast.control.stage")

#: how long a retired deployment may keep serving the requests it already had
RETIRE_TIMEOUT_S = 60.0


@dataclass(eq=False)
class LiveDeployment:
    """One deployment of a stage, running."""

    record: Deployment
    model: AppModel
    runtime: Runtime
    router: AliasRouter
    gateway: GatewayApp
    app: ASGIApp
    #: static site manifest (key → sha256) this deployment serves, if any
    static: dict[str, str] | None = None
    #: the most one request can cost here (what a budget cap reserves per request)
    worst_case: Decimal = Decimal(0)
    #: its functions' own credentials, revoked once it has retired
    credentials: FunctionCredentials | None = None
    #: the API mapping key it is served under on the stage's hosts ("" = the root)
    base_path: str = ""

    @property
    def cap_key(self) -> str:
        """The spend meter's key of its stack's own budget cap."""
        return stack_cap_key(self.record.stage, self.record.stack)

    inflight: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    retired: bool = False

    def __post_init__(self) -> None:
        self.idle.set()

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request, counted so that retiring waits for it."""
        self.inflight += 1
        self.idle.clear()
        try:
            await self.app(scope, receive, send)
        finally:
            self.inflight -= 1
            if self.inflight == 0:
                self.idle.set()

    async def retire(self, timeout_s: float = RETIRE_TIMEOUT_S) -> None:
        """Wait for the requests inside (bounded), then stop its runtime and gateway."""
        if self.retired:
            return
        self.retired = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.idle.wait(), timeout_s)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.gateway.drain(), timeout_s)
        await self.runtime.aclose()
        if self.credentials is not None:
            await asyncio.to_thread(self.credentials.revoke)


_NO_DEPLOYMENT = [(b"content-type", b"application/json")]


_THROTTLED = [(b"content-type", b"application/json")]
_THROTTLED_BODY = b'{"message":"Too Many Requests"}'


#: the scope key under which the platform names the stack a request's host asked for
STACK_HOST = "overcast.stack"


@dataclass(eq=False)
class StackSlot:
    """One stack of a stage: its current deployment, and the deployment under way."""

    name: str
    current: LiveDeployment | None = None
    #: the deployment being rolled out, rolled back or deleted, while one is
    busy: str | None = None


class Stage:
    """The data path's entry for one stage: routes to its stacks' current deployments."""

    def __init__(
        self,
        name: str,
        throttle: ThrottleLimit | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        spend: SpendMeter | None = None,
        wall_clock: Callable[[], float] = time.time,
        budget_fallback: tuple[bytes, bytes] | None = None,
    ) -> None:
        self.name = name
        #: the platform's spend meter, when this stage or one of its stacks has a cap
        capped = spend is not None and any(
            key == name or key.startswith(f"{name}/stack:") for key in spend.caps
        )
        self.spend = spend if capped else None
        self._wall_clock = wall_clock
        #: (content type, body) answered instead of the message once the cap is reached
        self.budget_fallback = budget_fallback
        self.stacks: dict[str, StackSlot] = {}
        # base path, and lower-cased stack name (a host's label) → the stack serving it
        # (rebuilt at every switch; read per request)
        self._by_base: dict[str, LiveDeployment] = {}
        self._by_name: dict[str, LiveDeployment] = {}
        self._clock = clock
        #: the stage's own rate limit (API Gateway stage throttling), if it has one
        self.bucket = TokenBucket(throttle, clock()) if throttle is not None else None

    def slot(self, stack: str) -> StackSlot:
        """The stack called ``stack`` (an empty one when it was never deployed)."""
        slot = self.stacks.get(stack)
        if slot is None:
            slot = self.stacks[stack] = StackSlot(stack)
        return slot

    def lives(self) -> list[LiveDeployment]:
        """The current deployment of every stack that has one."""
        return [slot.current for slot in self.stacks.values() if slot.current is not None]

    @property
    def busy(self) -> str | None:
        """A deployment under way in any of the stage's stacks."""
        return next((s.busy for s in self.stacks.values() if s.busy is not None), None)

    def base_path_owner(self, base_path: str, but: str) -> str | None:
        """The stack other than ``but`` already served under ``base_path``, if any."""
        owner = self._by_base.get(base_path)
        return owner.record.stack if owner is not None and owner.record.stack != but else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send)
            return
        if self.bucket is not None and not self.bucket.take(self._clock()):
            await send({"type": "http.response.start", "status": 429, "headers": _THROTTLED})
            await send({"type": "http.response.body", "body": _THROTTLED_BODY})
            return
        named = scope.get(STACK_HOST)
        if named is not None:
            live = self._by_name.get(named)
            if live is None:
                await self._absent(send, f"Stage {self.name} has no stack {named}", 404)
                return
        else:
            found = self._route(scope)
            if found is None:
                if self._by_base:
                    await self._absent(send, "Not Found", 404)
                else:
                    await self._absent(
                        send, f"Stage {self.name} has no deployment yet (overcast deploy)", 503
                    )
                return
            live, scope = found
        spend = self.spend
        if spend is None:
            await live.serve(scope, receive, send)
            return
        worst = live.worst_case
        now = self._wall_clock()
        # The stage's cap, then the stack's own when it has one: both reserve the worst.
        keys = [key for key in (self.name, live.cap_key) if key in spend.caps]
        admitted: list[str] = []
        for key in keys:
            if not spend.admit(key, worst, now):
                for done in admitted:
                    spend.release(done, worst)
                await self._over_budget(spend, send, key)
                return
            admitted.append(key)
        try:
            await live.serve(scope, receive, send)
        finally:
            for key in admitted:
                spend.release(key, worst)

    def _route(self, scope: Scope) -> tuple[LiveDeployment, Scope] | None:
        """The stack an API mapping sends the request to, and the scope it sees."""
        by_base = self._by_base
        if len(by_base) == 1 and "" in by_base:
            return by_base[""], scope  # one stack at the root: the usual case, no work
        path: str = scope["path"]
        first = path[1:].split("/", 1)[0]
        live = by_base.get(first) if first else None
        if live is None:
            root = by_base.get("")
            return (root, scope) if root is not None else None
        prefix = "/" + first
        raw_path: bytes = scope.get("raw_path") or path.encode()
        stripped = dict(scope)
        stripped["path"] = path[len(prefix) :] or "/"
        stripped["raw_path"] = raw_path[len(prefix) :] or b"/"
        stripped["root_path"] = scope.get("root_path", "") + prefix
        return live, stripped

    async def _absent(self, send: Send, message: str, status: int) -> None:
        body = orjson.dumps({"message": message})
        await send({"type": "http.response.start", "status": status, "headers": _NO_DEPLOYMENT})
        await send({"type": "http.response.body", "body": body})

    async def _over_budget(self, spend: SpendMeter, send: Send, key: str) -> None:
        if self.budget_fallback is not None:
            content_type, page = self.budget_fallback
            headers = [(b"content-type", content_type), (b"cache-control", b"no-store")]
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": page})
            return
        status = spend.status(key, self._wall_clock())
        what = f"stage {self.name}" if key == self.name else f"stack {key.split(':', 1)[1]}"
        body = orjson.dumps(
            {
                "message": f"Budget cap reached: {what} has spent "
                f"${status.spent:.6f} of its {status.cap} cap; requests are refused until "
                "the period rolls over or an admin lifts the cap (overcast budget lift)"
            }
        )
        await send({"type": "http.response.start", "status": 429, "headers": _THROTTLED})
        await send({"type": "http.response.body", "body": body})

    def switch(self, stack: str, live: LiveDeployment | None) -> LiveDeployment | None:
        """Make ``live`` the stack's current deployment (None: the stack is gone);
        returns the deployment it replaced (to retire)."""
        slot = self.slot(stack)
        previous, slot.current = slot.current, live
        lives = self.lives()
        self._by_base = {live.base_path: live for live in lives}
        self._by_name = {live.record.stack.lower(): live for live in lives}
        return previous
