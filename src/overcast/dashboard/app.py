"""The dashboard's ASGI app, mounted on the admin port under ``/dashboard/``.

==============================================================  ===============================
``GET  /dashboard/login`` / ``POST /dashboard/login``           sign in with an admin key
``POST /dashboard/logout``                                      sign out (CSRF token)
``GET  /dashboard/``                                            overview: stages, functions, cost
``GET  /dashboard/functions/<stage>/<function>``                charts and live log tail
``GET  /dashboard/alarms`` / ``GET /dashboard/deployments``     alarms; deployments, rollback
``GET  /dashboard/static/<file>``                               page script, style, Plotly
``GET  /dashboard/api/overview?window=<s>``                     JSON behind the overview
``GET  /dashboard/api/stages/<s>/functions/<f>/metrics``        a function's series (JSON)
``GET  /dashboard/api/stages/<s>/functions/<f>/logs``           its log lines (text/event-stream)
``GET  /dashboard/api/alarms`` / ``.../api/deployments``        alarms; every stage's history
``POST /dashboard/api/stages/<s>/rollback``                     roll back (``X-CSRF-Token``)
==============================================================  ===============================

Pages without a session redirect to the sign-in form; the API answers 401. A session
is a random token in an HttpOnly, SameSite=Strict cookie scoped to ``/dashboard``,
looked up in a server-side table (:mod:`overcast.dashboard.sessions`) that asks about
its key again on every request: a revoked or narrowed key's session is over at once,
and an open log stream closes within ``session_check_s``. State changes (rollback,
sign-out) need the session's CSRF token and, when the browser names one, the
dashboard's own Origin. Wrong secrets slow down further tries of that key from that
address (:mod:`overcast.dashboard.sign_in_throttle`): 429 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

import orjson

from overcast.asgi import Receive, Scope, Send, serve_lifespan
from overcast.dashboard import api_json, pages, sse
from overcast.dashboard.assets import Assets
from overcast.dashboard.http import (
    Request,
    clear_cookie,
    parse_form,
    read_body,
    redirect,
    respond,
    respond_html,
    respond_json,
    session_cookie,
)
from overcast.dashboard.sessions import Identify, Identity, Session, SessionTable
from overcast.dashboard.sign_in_throttle import Backoff, SignInThrottle
from overcast.dashboard.source import (
    DashboardSource,
    LogLine,
    RollbackRefused,
    StageInfo,
    UnknownFunction,
    UnknownStage,
)

#: ``(access key id, secret) → who signed in``, or None for a wrong or unknown key.
#: It should compare secrets in constant time (``hmac.compare_digest``) and admit
#: only the roles that may watch the platform.
Authenticate = Callable[[str, str], Identity | None]

PREFIX = "/dashboard"
_STAGE = r"[A-Za-z_][A-Za-z0-9_]*"
_FUNCTION = r"[A-Za-z0-9_.-]{1,140}"
_FUNCTION_PAGE = re.compile(rf"^/dashboard/functions/({_STAGE})/({_FUNCTION})$")
_METRICS = re.compile(rf"^/dashboard/api/stages/({_STAGE})/functions/({_FUNCTION})/metrics$")
_LOGS = re.compile(rf"^/dashboard/api/stages/({_STAGE})/functions/({_FUNCTION})/logs$")
_STAGE_DEPLOYMENTS = re.compile(rf"^/dashboard/api/stages/({_STAGE})/deployments$")
_ROLLBACK = re.compile(rf"^/dashboard/api/stages/({_STAGE})/rollback$")
#: every API path that names a stage (group 1): refused outright to a key of other stages
_STAGE_PATHS = (_METRICS, _LOGS, _STAGE_DEPLOYMENTS, _ROLLBACK)
__all__ = ["Authenticate", "DashboardApp", "DashboardSettings", "pick_step"]

logger = logging.getLogger("overcast.dashboard")

_STATIC = re.compile(r"^/dashboard/static/([A-Za-z0-9_.-]+)$")
#: where sign-in may lead: a dashboard path of visible ASCII, within reason
_NEXT_PATH = re.compile(r"/dashboard/[\x21-\x7e]{0,2000}")
#: a log stream's Last-Event-ID: a log line's epoch milliseconds
_EVENT_ID = re.compile(r"[0-9]{1,15}")

_MAX_FORM_BYTES = 8 * 1024
_MIN_WINDOW_S, _MAX_WINDOW_S, _DEFAULT_WINDOW_S = 60, 31 * 86400, 900
#: points a chart aims for; the step is rounded up to one of _STEPS
_POINTS = 90
_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400)


@dataclass(frozen=True, slots=True)
class DashboardSettings:
    """Knobs of the dashboard; the defaults suit a person watching a platform."""

    session_ttl_s: float = 12 * 3600.0
    session_idle_s: float = 2 * 3600.0
    max_sessions: int = 1000
    #: log streams open at once; more get 503 (each holds a task and a file poller)
    max_log_streams: int = 32
    #: lines from before the page opened that the log tail starts with
    log_backlog_s: float = 120.0
    heartbeat_s: float = 15.0
    #: how often an open log stream checks that its session still holds (key revoked?)
    session_check_s: float = 5.0
    #: waits after wrong secrets, per client address and key id
    sign_in_backoff: Backoff = field(default_factory=Backoff)


def pick_step(window_s: int) -> int:
    """A bucket size giving about ``_POINTS`` points over ``window_s`` seconds."""
    wanted = max(1, math.ceil(window_s / _POINTS))
    return next((step for step in _STEPS if step >= wanted), _STEPS[-1])


class DashboardApp:
    """The dashboard: pages, JSON API, log stream and static files under ``/dashboard/``.

    ``authenticate`` checks a key id and secret at sign-in; ``identify`` tells, for a
    signed-in key id, what the key grants now (None once revoked or expired): every
    request of a session asks it, so it must see changes made while the app runs.
    """

    def __init__(
        self,
        source: DashboardSource,
        authenticate: Authenticate,
        settings: DashboardSettings | None = None,
        *,
        identify: Identify,
        clock: Callable[[], float] = time.time,
    ) -> None:
        #: a warning every signed-in page shows (e.g. functions running unsandboxed)
        self.notice: str | None = None
        self.source = source
        self.settings = settings or DashboardSettings()
        self.sessions = SessionTable(
            ttl_s=self.settings.session_ttl_s,
            idle_s=self.settings.session_idle_s,
            max_sessions=self.settings.max_sessions,
            identify=identify,
            clock=clock,
        )
        self._authenticate = authenticate
        self._clock = clock
        self._assets = Assets()
        self._throttle = SignInThrottle(self.settings.sign_in_backoff, clock=clock)
        self._log_streams = 0

    @staticmethod
    def handles(path: str) -> bool:
        """Whether ``path`` belongs to the dashboard (for the admin app's dispatch)."""
        return path == PREFIX or path.startswith(PREFIX + "/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request.from_scope(scope)
        try:
            await self._dispatch(request, scope, receive, send)
        except (UnknownStage, UnknownFunction) as exc:
            await self._not_found(request, send, exc.message)

    async def _dispatch(self, request: Request, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = request.path, request.method
        if path == PREFIX:
            await redirect(send, PREFIX + "/")
            return
        if path.startswith("/dashboard/static/"):
            match = _STATIC.match(path)
            await self._static(request, send, match.group(1) if match else "")
            return
        if path == "/dashboard/login":
            if method == "POST":
                await self._login(request, scope, receive, send)
            else:
                await respond_html(send, 200, pages.login_page(next_path=_safe_next(request)))
            return
        session = self.sessions.get(request.session_token)
        api = path.startswith("/dashboard/api/")
        if session is None:
            if api:
                await respond_json(send, 401, {"message": "Sign in first"})
            else:
                # A cookie of a session that is over (expired, key revoked) goes too.
                stale = [clear_cookie()] if request.session_token else []
                await redirect(send, "/dashboard/login?next=" + _quote_path(path), stale)
            return
        if path == "/dashboard/logout" and method == "POST":
            await self._logout(request, receive, send, session)
            return
        if api:
            await self._api(request, scope, receive, send, session)
            return
        if method not in ("GET", "HEAD"):
            await respond_html(send, 405, pages.message_page("Method Not Allowed", method))
            return
        await self._page(request, send, session)

    # -- pages -----------------------------------------------------------------------

    async def _page(self, request: Request, send: Send, session: Session) -> None:
        path = request.path
        if path == "/dashboard/":
            await respond_html(send, 200, pages.overview_page(session, self.notice))
        elif path == "/dashboard/alarms":
            await respond_html(send, 200, pages.alarms_page(session, self.notice))
        elif path == "/dashboard/deployments":
            await respond_html(send, 200, pages.deployments_page(session, self.notice))
        elif match := _FUNCTION_PAGE.match(path):
            stage, function = match.group(1), match.group(2)
            identity = session.identity
            if not identity.may_see(stage) or (
                identity.stacks and function not in await self._functions(identity, stage)
            ):
                message = "This key may not see this function's stage or stack."
                await respond_html(send, 403, pages.message_page("Forbidden", message))
                return
            if function not in await self.source.functions(stage):
                raise UnknownFunction(f"stage {stage} runs no function {function}")
            await respond_html(
                send, 200, pages.function_page(session, stage, function, self.notice)
            )
        else:
            await self._not_found(request, send, "No such page")

    async def _not_found(self, request: Request, send: Send, message: str) -> None:
        if request.path.startswith("/dashboard/api/"):
            await respond_json(send, 404, {"message": message})
        else:
            await respond_html(send, 404, pages.message_page("Not Found", message))

    async def _static(self, request: Request, send: Send, name: str) -> None:
        asset = self._assets.get(name)
        if asset is None or request.method not in ("GET", "HEAD"):
            await respond(send, 404, b"Not Found", "text/plain; charset=utf-8")
            return
        headers = [(b"etag", asset.etag.encode()), (b"cache-control", b"no-cache")]
        if request.headers.get("if-none-match") == asset.etag:
            await respond(send, 304, b"", asset.content_type, headers, cacheable=True)
            return
        body = asset.body
        headers.append((b"vary", b"accept-encoding"))
        if "gzip" in request.headers.get("accept-encoding", ""):
            body = asset.gzipped
            headers.append((b"content-encoding", b"gzip"))
        if request.method == "HEAD":
            headers.append((b"content-length", str(len(body)).encode()))
            body = b""
        await respond(send, 200, body, asset.content_type, headers, cacheable=True)

    # -- signing in and out ------------------------------------------------------------

    async def _login(self, request: Request, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        body = await read_body(receive, _MAX_FORM_BYTES)
        if body is None:
            await respond_html(send, 413, pages.login_page(error="That form was too large."))
            return
        form = parse_form(body)
        next_path = _safe_next_value(form.get("next", ""))
        if not request.same_origin():
            await respond_html(
                send,
                403,
                pages.login_page(error="Cross-site sign-in refused.", next_path=next_path),
            )
            return
        key_id = form.get("access_key_id", "").strip()
        secret = form.get("secret_access_key", "")
        wait = self._throttle.attempt(address, key_id)
        if wait > 0:
            # Refused unchecked: the answer must not tell whether this secret was right.
            seconds = math.ceil(wait)
            await respond_html(
                send,
                429,
                pages.login_page(
                    error=f"Too many wrong secrets for this key from here; "
                    f"try again in {seconds} s.",
                    next_path=next_path,
                ),
                [(b"retry-after", str(seconds).encode())],
            )
            return
        identity = self._authenticate(key_id, secret) if key_id and secret else None
        if identity is None:
            wait = self._throttle.failed(address, key_id)
            if wait > 0:
                logger.warning(
                    "dashboard sign-in: wrong secrets for key %.40r from %s; it waits %g s",
                    key_id,
                    address,
                    wait,
                )
            await respond_html(
                send,
                401,
                pages.login_page(error="Unknown access key or wrong secret.", next_path=next_path),
            )
            return
        self._throttle.succeeded(address, key_id)
        session = self.sessions.create(identity)
        max_age = max(1, int(session.expires - session.created))
        cookie = session_cookie(session.token, max_age, secure=scope.get("scheme") == "https")
        await redirect(send, next_path, [cookie])

    async def _logout(
        self, request: Request, receive: Receive, send: Send, session: Session
    ) -> None:
        body = await read_body(receive, _MAX_FORM_BYTES) or b""
        offered = parse_form(body).get("csrf") or request.headers.get("x-csrf-token")
        if not request.same_origin() or not session.csrf_matches(offered):
            await respond_html(send, 403, pages.message_page("Forbidden", "Missing CSRF token."))
            return
        self.sessions.end(session.token)
        await redirect(send, "/dashboard/login", [clear_cookie()])

    # -- the JSON API ----------------------------------------------------------------

    async def _api(
        self, request: Request, scope: Scope, receive: Receive, send: Send, session: Session
    ) -> None:
        path, method = request.path, request.method
        identity = session.identity
        named = next((m.group(1) for p in _STAGE_PATHS if (m := p.match(path)) is not None), None)
        function = next(
            (m.group(2) for p in (_METRICS, _LOGS) if (m := p.match(path)) is not None), None
        )
        if named is not None and not identity.may_see(named):
            # As the admin APIs answer a key out of its scope (AWS's shape and status).
            await respond_json(
                send,
                403,
                {
                    "__type": "AccessDeniedException",
                    "message": f"This key is limited to stage(s) {', '.join(identity.stages)}",
                },
            )
            return
        if (
            identity.stacks
            and function is not None
            and named is not None
            and function not in await self._functions(identity, named)
        ):
            await respond_json(
                send,
                403,
                {
                    "__type": "AccessDeniedException",
                    "message": f"This key is limited to stack(s) {', '.join(identity.stacks)}",
                },
            )
            return
        if match := _ROLLBACK.match(path):
            if method != "POST":
                await respond_json(send, 405, {"message": "Use POST"})
                return
            await self._rollback(request, receive, send, session, match.group(1))
            return
        if method != "GET":
            await respond_json(send, 405, {"message": "Use GET"})
            return
        if path == "/dashboard/api/overview":
            await respond_json(send, 200, await self._overview(identity, _window(request)))
        elif match := _METRICS.match(path):
            stage, function = match.group(1), match.group(2)
            await respond_json(send, 200, await self._metrics(stage, function, _window(request)))
        elif match := _LOGS.match(path):
            await self._logs(
                request, receive, send, session, stage=match.group(1), function=match.group(2)
            )
        elif path == "/dashboard/api/alarms":
            alarms = [a for a in await self.source.alarms() if identity.may_see(a.stage)]
            await respond_json(send, 200, {"alarms": [api_json.alarm_json(a) for a in alarms]})
        elif path == "/dashboard/api/deployments":
            await respond_json(send, 200, await self._all_deployments(session))
        elif match := _STAGE_DEPLOYMENTS.match(path):
            await respond_json(send, 200, await self._stage_deployments(session, match.group(1)))
        elif path == "/dashboard/api/stages":
            stages = await self._stages(identity)
            await respond_json(send, 200, {"stages": [api_json.stage_json(s) for s in stages]})
        else:
            await respond_json(send, 404, {"message": "Unknown API path"})

    async def _functions(self, identity: Identity, stage: str) -> list[str]:
        """The functions of ``stage`` that ``identity`` may see (its stacks')."""
        names = list(await self.source.functions(stage))
        if not identity.stacks:
            return names
        owners = await self.source.function_stacks(stage)
        return [name for name in names if identity.owns(owners.get(name))]

    async def _stages(self, identity: Identity) -> list[StageInfo]:
        """The stages ``identity`` may see."""
        return [s for s in await self.source.stages() if identity.may_see(s.name)]

    async def _overview(self, identity: Identity, window_s: int) -> dict[str, object]:
        now = self._clock()
        since, until, step = _span(now, window_s)
        stages = await self._stages(identity)

        async def one_stage(stage_name: str) -> tuple[list[dict[str, object]], dict[str, object]]:
            names = await self._functions(identity, stage_name)
            owners = await self.source.function_stacks(stage_name)
            series = await asyncio.gather(
                *(
                    self.source.metrics(stage_name, n, since=since, until=until, step_s=step)
                    for n in names
                )
            )
            cost = await self.source.cost(stage_name, now=now)
            rows = [
                {
                    "name": s.function,
                    "stack": owners.get(s.function, ""),
                    **api_json.totals_json(s.totals),
                }
                for s in series
            ]
            return rows, api_json.cost_json(cost)

        results = await asyncio.gather(*(one_stage(s.name) for s in stages))
        return {
            "generated": now,
            "window_s": window_s,
            "stages": [
                {**api_json.stage_json(stage), "functions": rows, "cost": cost}
                for stage, (rows, cost) in zip(stages, results, strict=True)
            ],
        }

    async def _metrics(self, stage: str, function: str, window_s: int) -> dict[str, object]:
        now = self._clock()
        since, until, step = _span(now, window_s)
        series = await self.source.metrics(stage, function, since=since, until=until, step_s=step)
        return {
            "generated": now,
            "window_s": window_s,
            "since": since,
            "until": until,
            **api_json.series_json(series),
        }

    async def _stage_deployments(self, session: Session, stage: str) -> dict[str, object]:
        identity = session.identity
        history = [d for d in await self.source.deployments(stage) if identity.owns(d.stack)]
        current = next((d.id for d in history if d.current), None)
        return {
            "stage": stage,
            "current": current,
            "can_rollback": session.identity.may_rollback(stage),
            "deployments": [api_json.deployment_json(d) for d in history],
        }

    async def _all_deployments(self, session: Session) -> dict[str, object]:
        stages = await self._stages(session.identity)
        each = await asyncio.gather(*(self._stage_deployments(session, s.name) for s in stages))
        return {"stages": list(each)}

    async def _rollback(
        self, request: Request, receive: Receive, send: Send, session: Session, stage: str
    ) -> None:
        body = await read_body(receive, _MAX_FORM_BYTES) or b""
        offered = request.headers.get("x-csrf-token") or parse_form(body).get("csrf")
        if not request.same_origin() or not session.csrf_matches(offered):
            await respond_json(send, 403, {"message": "Missing or wrong CSRF token"})
            return
        identity = session.identity
        stacks = set((await self.source.function_stacks(stage)).values())
        if not identity.may_rollback(stage) or not all(identity.owns(s) for s in stacks):
            await respond_json(send, 403, {"message": f"This key may not roll back stage {stage}"})
            return
        try:
            deployment = await self.source.rollback(stage, actor=session.identity.access_key_id)
        except RollbackRefused as exc:
            await respond_json(send, 409, {"message": _error_message(exc)})
            return
        await respond_json(send, 202, {"deployment": api_json.deployment_json(deployment)})

    async def _logs(
        self,
        request: Request,
        receive: Receive,
        send: Send,
        session: Session,
        *,
        stage: str,
        function: str,
    ) -> None:
        if function not in await self.source.functions(stage):
            raise UnknownFunction(f"stage {stage} runs no function {function}")
        if self._log_streams >= self.settings.max_log_streams:
            await respond_json(send, 503, {"message": "Too many log streams open"})
            return
        since_ms = _resume_from(request)
        if since_ms is None:
            since_ms = int((self._clock() - self.settings.log_backlog_s) * 1000)
        lines = self.source.tail_logs(stage, function, since_ms=since_ms)
        token = session.token

        def signed_in() -> bool:
            return self.sessions.get(token, touch=False) is not None

        self._log_streams += 1
        try:
            await sse.stream_events(
                send,
                receive,
                lines,
                _log_event,
                heartbeat_s=self.settings.heartbeat_s,
                alive=signed_in,
                check_s=self.settings.session_check_s,
                farewell=_SESSION_ENDED,
            )
        finally:
            self._log_streams -= 1


#: the last event of a log stream whose session is over: the page goes to sign-in
_SESSION_ENDED = sse.frame(
    orjson.dumps({"message": "Your session has ended; sign in again."}).decode(),
    event="session-ended",
)


def _error_message(exc: RollbackRefused) -> str:
    return exc.message + (f" ({exc.hint})" if exc.hint else "")


def _log_event(line: LogLine) -> bytes:
    return sse.frame(
        orjson.dumps(api_json.log_json(line)).decode(),
        event="log",
        event_id=str(line.timestamp_ms),
    )


def _resume_from(request: Request) -> int | None:
    """Where a reconnecting EventSource left off (its ``Last-Event-ID``), else None."""
    last = request.headers.get("last-event-id", "")
    # The id is the last line's timestamp (epoch ms): resume just after it. Only ASCII
    # digits of a sane length (str.isdigit admits "²", which int() refuses).
    return int(last) + 1 if _EVENT_ID.fullmatch(last) else None


def _window(request: Request) -> int:
    raw = request.query.get("window", "")
    try:
        value = int(raw)
    except ValueError:
        return _DEFAULT_WINDOW_S
    return min(max(value, _MIN_WINDOW_S), _MAX_WINDOW_S)


def _span(now: float, window_s: int) -> tuple[float, float, int]:
    """(since, until, step): whole buckets, the last one holding ``now``."""
    step = pick_step(window_s)
    until = (math.floor(now / step) + 1) * step
    return float(until - window_s - step), float(until), step


def _safe_next(request: Request) -> str:
    return _safe_next_value(request.query.get("next", ""))


def _safe_next_value(value: str) -> str:
    """Only paths of the dashboard itself: never another site (an open redirect).

    It becomes a Location header: visible ASCII only (a browser sends the path
    percent-encoded), so no CR/LF splits the header and nothing needs encoding.
    """
    if _NEXT_PATH.fullmatch(value) and "\\" not in value:
        return value
    return "/dashboard/"


def _quote_path(path: str) -> str:
    return quote(path, safe="/")
