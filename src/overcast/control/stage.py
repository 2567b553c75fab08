"""A stage on a platform: its live deployment, switched atomically, and retired when idle.

A :class:`LiveDeployment` is one deployment brought to life: its runtime (the
function versions it runs), its alias router, its gateway and — when the app has an
edge — its edge. A :class:`Stage` serves requests through whichever live deployment
is current; making another one current is a single assignment, so a request runs
entirely on the deployment it started on. Each live deployment counts the requests
inside it, and is retired (runtime drained and closed) only once that count is zero:
requests in flight during a switch finish on the old version, new ones start on the
new version, and none is cut off.
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
from overcast.observe.spend import SpendMeter
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


class Stage:
    """The data path's entry for one stage: serves its current deployment."""

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
        #: the platform's spend meter, when this stage has a budget cap
        self.spend = spend if spend is not None and name in spend.caps else None
        self._wall_clock = wall_clock
        #: (content type, body) answered instead of the message once the cap is reached
        self.budget_fallback = budget_fallback
        self.current: LiveDeployment | None = None
        #: the deployment being rolled out or rolled back, while one is
        self.busy: str | None = None
        self._clock = clock
        #: the stage's own rate limit (API Gateway stage throttling), if it has one
        self.bucket = TokenBucket(throttle, clock()) if throttle is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send)
            return
        if self.bucket is not None and not self.bucket.take(self._clock()):
            await send({"type": "http.response.start", "status": 429, "headers": _THROTTLED})
            await send({"type": "http.response.body", "body": _THROTTLED_BODY})
            return
        live = self.current
        if live is None:
            body = orjson.dumps(
                {"message": f"Stage {self.name} has no deployment yet (overcast deploy)"}
            )
            await send({"type": "http.response.start", "status": 503, "headers": _NO_DEPLOYMENT})
            await send({"type": "http.response.body", "body": body})
            return
        spend = self.spend
        if spend is None:
            await live.serve(scope, receive, send)
            return
        worst = live.worst_case
        if not spend.admit(self.name, worst, self._wall_clock()):
            await self._over_budget(spend, send)
            return
        try:
            await live.serve(scope, receive, send)
        finally:
            spend.release(self.name, worst)

    async def _over_budget(self, spend: SpendMeter, send: Send) -> None:
        if self.budget_fallback is not None:
            content_type, page = self.budget_fallback
            headers = [(b"content-type", content_type), (b"cache-control", b"no-store")]
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": page})
            return
        status = spend.status(self.name, self._wall_clock())
        body = orjson.dumps(
            {
                "message": f"Budget cap reached: stage {self.name} has spent "
                f"${status.spent:.6f} of its {status.cap} cap; requests are refused until "
                "the period rolls over or an admin lifts the cap (overcast budget lift)"
            }
        )
        await send({"type": "http.response.start", "status": 429, "headers": _THROTTLED})
        await send({"type": "http.response.body", "body": body})

    def switch(self, live: LiveDeployment | None) -> LiveDeployment | None:
        """Make ``live`` current; returns the deployment it replaced (to retire)."""
        previous, self.current = self.current, live
        return previous
