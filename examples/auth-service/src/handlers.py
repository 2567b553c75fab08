"""Lambda handlers of the auth service: API Gateway HTTP API (payload 2.0) → authcore.

One function serves every /auth route through a small router (``ROUTES``) rather than
one function per route: the expensive Init (settings, the database connection, the
signing keys, Argon2's dummy hash) then happens once per instance for the whole
service, N warm instances hold N database connections whatever the route mix, and a
warm instance answers any route. The template still declares each route on its own, so
the gateway only forwards the routes that exist.

Mails (verification, password reset) are not sent here: each becomes a message on the
mail queue (``MAIL_QUEUE_URL``, the template's ``MailQueue``) that ``mailer.py`` sends.
``purge`` is the nightly PurgeFunction.

Init runs at import, once per instance — Lambda's Init phase:
https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Callable
from typing import Any

from authcore import AuthService, MailJob, Outbox, Result, build_service
from authcore.mail import no_outbox

logger = logging.getLogger("authcore")
logger.setLevel(logging.INFO)


class QueueOutbox:
    """Mail jobs as messages on an SQS queue, sent with boto3.

    The client is made at the first mail, not at Init: most requests send none, and
    importing boto3 would lengthen every cold start. On AWS boto3 reaches SQS; under
    overcast ``AWS_ENDPOINT_URL_SQS`` points it at the platform's SQS API.
    """

    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url
        self._client: Any = None

    def __call__(self, job: MailJob) -> None:
        if self._client is None:
            import boto3  # noqa: PLC0415 - see the class docstring

            self._client = boto3.client("sqs")
        self._client.send_message(QueueUrl=self.queue_url, MessageBody=job.to_json())


def _outbox() -> Outbox:
    queue_url = os.environ.get("MAIL_QUEUE_URL", "").strip()
    return QueueOutbox(queue_url) if queue_url else no_outbox


# Lambda's Init phase: built once when the instance imports this module, reused warm.
SERVICE: AuthService = build_service(outbox=_outbox())

Event = dict[str, Any]


def _body(event: Event) -> str | bytes | None:
    body = event.get("body")
    if body is not None and event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body)
        except ValueError:
            return b"\xff"  # undecodable: the core answers 400 "not valid JSON"
    return body


def _header(event: Event, name: str) -> str | None:
    # Payload 2.0 lower-cases header names and joins repeated ones with commas.
    headers = event.get("headers") or {}
    value = headers.get(name)
    return value if isinstance(value, str) else None


def _query(event: Event, name: str) -> str | None:
    value = (event.get("queryStringParameters") or {}).get(name)
    return value if isinstance(value, str) else None


def _source_ip(event: Event) -> str | None:
    ip = ((event.get("requestContext") or {}).get("http") or {}).get("sourceIp")
    return ip if isinstance(ip, str) else None


def to_response(result: Result) -> dict[str, Any]:
    """A payload-2.0 response with an explicit statusCode, headers and JSON body.

    https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
    """
    headers = {"Content-Type": "application/json", **result.headers}
    response: dict[str, Any] = {
        "statusCode": result.status,
        "headers": headers,
        "isBase64Encoded": False,
    }
    if result.body is None:
        headers.pop("Content-Type")
        response["body"] = ""
    else:
        response["body"] = json.dumps(result.body, separators=(",", ":"))
    return response


ROUTES: dict[str, Callable[[Event], Result]] = {
    "POST /auth/register": lambda e: SERVICE.register(_body(e)),
    "POST /auth/login": lambda e: SERVICE.login(_body(e), _source_ip(e)),
    "POST /auth/refresh": lambda e: SERVICE.refresh(_body(e)),
    "POST /auth/logout": lambda e: SERVICE.logout(_body(e)),
    "GET /auth/me": lambda e: SERVICE.me(_header(e, "authorization")),
    "POST /auth/password": lambda e: SERVICE.change_password(_header(e, "authorization"), _body(e)),
    "POST /auth/password/forgot": lambda e: SERVICE.forgot_password(_body(e)),
    "POST /auth/password/reset": lambda e: SERVICE.reset_password(_body(e)),
    "GET /auth/verify": lambda e: SERVICE.verify_email(_query(e, "token")),
    "POST /auth/verify": lambda e: SERVICE.verify_email(_query(e, "token")),
    "GET /auth/.well-known/jwks.json": lambda _e: SERVICE.jwks(),
    "GET /auth/.well-known/openid-configuration": lambda _e: SERVICE.openid_configuration(),
    "GET /auth/health": lambda _e: SERVICE.health(),
}


def _route_key(event: Event) -> str:
    route = event.get("routeKey")
    if isinstance(route, str) and route in ROUTES:
        return route
    http = (event.get("requestContext") or {}).get("http") or {}
    return f"{http.get('method', '')} {event.get('rawPath', http.get('path', ''))}"


def handler(event: Event, context: object) -> dict[str, Any]:
    """The API handler: dispatch on the route, never let an exception become a 502."""
    operation = ROUTES.get(_route_key(event))
    if operation is None:
        return to_response(Result(404, {"error": "not_found", "message": "no such route"}))
    try:
        return to_response(operation(event))
    except Exception:
        logger.exception("unexpected error in %s", _route_key(event))
        return to_response(Result(500, {"error": "internal", "message": "internal error"}))


def migrate(event: object, context: object) -> dict[str, Any]:
    """MigrateFunction: create or upgrade the schema explicitly (never at request time)."""
    result = SERVICE.migrate()
    if result.status != 200:
        raise RuntimeError(json.dumps(result.body))
    return result.body or {}


def purge(event: object, context: object) -> dict[str, Any]:
    """PurgeFunction (nightly schedule): delete what expired; returns the counts."""
    result = SERVICE.purge()
    if result.status != 200:
        raise RuntimeError(json.dumps(result.body))
    return result.body or {}
