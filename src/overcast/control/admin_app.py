"""The admin port's ASGI app: health, metrics, and the Lambda API behind SigV4 access control.

``/health`` stays open (load balancers and ``overcast up``'s readiness wait use it);
so does ``/metrics`` (Prometheus text): scrapers cannot sign SigV4, and the admin
port listens on loopback unless told otherwise (docs/metrics.md says how to guard it);
``/v1/`` belongs to the secrets API, which authenticates Vault tokens itself, so it is
passed through untouched; every Lambda API request must be signed by an overcast key
whose role allows the operation. So must every edge invalidation
(``/2020-05-31/distribution/<stage>/invalidation``, when the node runs an edge), and
every SQS request (``POST /`` with an ``AmazonSQS.*`` target, or a query-protocol form
signed for ``sqs``: control/sqs_api.py), every SNS request (a query-protocol form
signed for ``sns``: control/sns_api.py), and every S3 request (signed for the ``s3``
service, any path: control/s3_api.py; told apart by its signature before any path is
looked at, so a bucket may be called ``dashboard``).

Sandboxed functions reach the admin port through a listener of their own
(``function_port``, relayed into each sandbox at the admin port's address): there
only ``/health``, the Lambda, Vault, SQS, SNS and S3 APIs answer — what a function's own
credentials open — and nothing that answers without them (``/metrics``, the
dashboard's sign-in, the deploy API) exists.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import orjson

from overcast.asgi import serve_lifespan
from overcast.control.access import AccessControl, Denied, replay_body
from overcast.control.asgi_types import (
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
    send_response,
)
from overcast.control.deploy_api import DeployApi
from overcast.control.edge_admin import ACTION as INVALIDATE_ACTION
from overcast.control.edge_admin import EdgeAdmin
from overcast.control.lambda_api import DEFAULT_QUALIFIER, KEY_STACKS, KEY_STAGES, LambdaApi
from overcast.control.s3_api import S3Api
from overcast.control.sns_api import SnsApi
from overcast.control.sqs_api import SqsApi
from overcast.control.write_failures import is_write_failure, write_failure
from overcast.dashboard import DashboardApp
from overcast.invoke import MAX_SYNC_PAYLOAD_BYTES

logger = logging.getLogger(__name__)

_VAULT_PREFIX = "/v1/"
#: Prometheus' text exposition format, version 0.0.4 (what prometheus_client writes)
METRICS_CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"


class AdminApp:
    """Dispatches admin-port requests by path prefix."""

    def __init__(
        self,
        lambda_api: LambdaApi,
        access: AccessControl,
        secrets_app: ASGIApp | None = None,
        edge_admin: EdgeAdmin | None = None,
        deploy_api: DeployApi | None = None,
        *,
        metrics: Callable[[], bytes] | None = None,
        dashboard: DashboardApp | None = None,
    ) -> None:
        self._lambda = lambda_api
        #: the web dashboard under ``/dashboard/`` (it signs people in itself)
        self.dashboard = dashboard
        self._access = access
        self.secrets_app = secrets_app
        self.edge_admin = edge_admin
        self.deploy_api = deploy_api
        #: renders ``/metrics``; None when metrics are off (then ``/metrics`` is 404)
        self.metrics = metrics
        #: the port of the listener sandboxed functions reach (see the module docstring)
        self.function_port: int | None = None
        self.ready = False
        #: the SQS API (``POST /`` with an ``AmazonSQS.*`` target; it checks SigV4 itself)
        self.sqs_api: SqsApi | None = None
        #: the S3 API (requests signed for ``s3``; it checks SigV4 itself)
        self.s3_api: S3Api | None = None
        #: the SNS API (query-protocol requests signed for ``sns``; it checks SigV4 itself)
        self.sns_api: SnsApi | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if self.s3_api is not None and self.s3_api.handles(scope):
            await _answering_failures(self.s3_api, scope, receive, send)
            return
        if self._from_functions(scope) and not (
            path == "/health"
            or path.startswith(_VAULT_PREFIX)
            or self._lambda.handles(path)
            or (self.sqs_api is not None and self.sqs_api.handles(scope))
            or (self.sns_api is not None and self.sns_api.handles(scope))
        ):
            await send_response(
                send, 404, b'{"message":"Not Found"}', [(b"content-type", b"application/json")]
            )
            return
        if path == "/health":
            status = 200 if self.ready else 503
            body = orjson.dumps({"status": "ok" if self.ready else "starting"})
            await send_response(send, status, body, [(b"content-type", b"application/json")])
            return
        if path == "/metrics" and self.metrics is not None:
            await send_response(
                send, 200, self.metrics(), [(b"content-type", METRICS_CONTENT_TYPE)]
            )
            return
        if self.dashboard is not None and self.dashboard.handles(path):
            await self.dashboard(scope, receive, send)
            return
        if path.startswith(_VAULT_PREFIX) and self.secrets_app is not None:
            await self.secrets_app(scope, receive, send)
            return
        if self._lambda.handles(path):
            await _answering_failures(self._guarded_lambda, scope, receive, send)
            return
        if self.sqs_api is not None and self.sqs_api.handles(scope):
            await _answering_failures(self.sqs_api, scope, receive, send)
            return
        if self.sns_api is not None and self.sns_api.handles(scope):
            await _answering_failures(self.sns_api, scope, receive, send)
            return
        if self.deploy_api is not None and self.deploy_api.handles(path):
            await _answering_failures(self.deploy_api, scope, receive, send)
            return
        if self.edge_admin is not None and self.edge_admin.handles(path):
            await self._guarded_invalidation(self.edge_admin, scope, receive, send)
            return
        await send_response(
            send, 404, b'{"message":"Not Found"}', [(b"content-type", b"application/json")]
        )

    @property
    def access(self) -> AccessControl:
        return self._access

    def _from_functions(self, scope: Scope) -> bool:
        """Whether the request came in on the listener sandboxed functions reach."""
        return self.function_port is not None and _port(scope) == self.function_port

    async def _guarded_lambda(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The signature covers the body, so it is read before anything is served;
        # the Lambda API then gets it replayed, and applies its per-operation limits.
        # What can be refused without the body is refused before reading it.
        signed = await self._access.read_signed(
            scope,
            receive,
            MAX_SYNC_PAYLOAD_BYTES,
            Denied(
                413,
                "RequestTooLargeException",
                f"Request must be smaller than {MAX_SYNC_PAYLOAD_BYTES} bytes",
            ),
        )
        if isinstance(signed, Denied):
            await signed.send(send)
            return
        who, body = signed
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        action, resource = self._lambda.action(
            scope["method"],
            raw_path.decode("latin-1"),
            scope.get("query_string", b"").decode("latin-1"),
        )
        denied = self._access.authorize(who, action, resource)
        if denied is not None:
            await denied.send(send)
            return
        extended = {**scope, KEY_STAGES: who.stages, KEY_STACKS: who.stacks}
        if who.role == "function" and who.stages:
            extended[DEFAULT_QUALIFIER] = who.stages[0]
        await self._lambda(extended, replay_body(body, receive), send)

    async def _guarded_invalidation(
        self, edge_admin: EdgeAdmin, scope: Scope, receive: Receive, send: Send
    ) -> None:
        signed = await self._access.read_signed(
            scope,
            receive,
            _MAX_INVALIDATION_BYTES,
            Denied(413, "RequestTooLarge", "invalidation batch too large"),
        )
        if isinstance(signed, Denied):
            await signed.send(send)
            return
        who, body = signed
        path: str = scope["path"]
        denied = self._access.authorize(who, INVALIDATE_ACTION, edge_admin.resource(path))
        if denied is not None:
            await denied.send(send)
            return
        await edge_admin.handle(scope["method"], path, body, send)


async def _answering_failures(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run ``app``; an error it lets escape is answered in one line of AWS's error shape
    (a full or read-only disk says so), never as a plain-text 500 or a traceback."""
    started = False

    async def tracked(message: Message) -> None:
        nonlocal started
        started = started or message["type"] == "http.response.start"
        await send(message)

    try:
        await app(scope, receive, tracked)
    except Exception as exc:
        if started:
            raise  # too late to answer: the server closes the connection
        if is_write_failure(exc):
            logger.error("%s %s: %s", scope["method"], scope["path"], exc)
            await write_failure(exc, "answer").send(send)
            return
        request_id = str(uuid.uuid4())
        logger.exception("%s %s failed (request %s)", scope["method"], scope["path"], request_id)
        await Denied(
            500,
            "ServiceException",
            f"internal error; see the platform's log (request {request_id})",
        ).send(send)


def _port(scope: Scope) -> int | None:
    server = scope.get("server")
    return server[1] if server else None


# 3000 paths of up to ~1 KiB each, with room for the JSON around them.
_MAX_INVALIDATION_BYTES = 4 * 1024 * 1024
