"""GET .../me: the caller's private data, with no Cache-Control (as most handlers send).

Who the caller is comes from what API Gateway established (the authorizer's context,
the JWT's claims), or, on routes without an authorizer, from what the function checks
itself: an API key, a session cookie, or an AWS Signature Version 4 ``Authorization``
(https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html),
verified here with the caller's secret as an IAM-authorised API would.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any
from urllib.parse import parse_qsl, quote

API_KEYS = {"alice-key-0123456789abcdef": "alice", "bob-key-0123456789abcdef": "bob"}
SESSIONS = {"alice-session": "alice", "bob-session": "bob"}
# access key id -> (user, secret access key)
ACCESS_KEYS = {
    "AKIDALICE0000000000": ("alice", "alice-secret-key-0000000000000000000000"),
    "AKIDBOB000000000000": ("bob", "bob-secret-key-00000000000000000000000000"),
}
_SIGV4 = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<scope>[^,]+), "
    r"SignedHeaders=(?P<signed>[^,]+), Signature=(?P<signature>[0-9a-f]{64})$"
)


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    user = _caller(event, _kind_of(event))
    if user is None:
        return _json(401, {"message": "Unauthorized"})
    return _json(200, {"user": user, "secret": f"the private data of {user}"})


def _kind_of(event: dict[str, Any]) -> str:
    # /{http|rest}/{mode}/<kind>/<case>
    path = event.get("rawPath") or event.get("path") or ""
    return path.split("/")[3]


def _caller(event: dict[str, Any], kind: str) -> str | None:
    context = event.get("requestContext") or {}
    authorizer = context.get("authorizer") or {}
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    if kind == "jwt":
        return str(authorizer["jwt"]["claims"]["sub"])
    if kind in ("lambda", "lambda-cached"):
        return str(authorizer["lambda"]["user"])
    if kind in ("token", "token-fresh", "query"):
        return str(authorizer["user"])
    if kind == "key":
        return API_KEYS.get(headers.get("x-api-key", ""))
    if kind == "session":
        for cookie in event.get("cookies") or []:
            name, _, value = cookie.partition("=")
            if name == "session":
                return SESSIONS.get(value)
        return None
    if kind == "iam":
        return _sigv4_caller(event, headers)
    return None


def _sigv4_caller(event: dict[str, Any], headers: dict[str, str]) -> str | None:
    found = _SIGV4.match(headers.get("authorization", ""))
    if found is None:
        return None
    known = ACCESS_KEYS.get(found["key"])
    if known is None:
        return None
    user, secret = known
    date, region, service, terminator = found["scope"].split("/")
    signed = found["signed"].split(";")
    if "host" not in signed or "x-amz-date" not in signed or terminator != "aws4_request":
        return None
    query = sorted(parse_qsl(event.get("rawQueryString", ""), keep_blank_values=True))
    canonical = "\n".join(
        [
            event["requestContext"]["http"]["method"],
            quote(event["rawPath"], safe="/-_.~"),
            "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in query),
            "".join(f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in signed),
            found["signed"],
            headers.get("x-amz-content-sha256", hashlib.sha256(b"").hexdigest()),
        ]
    )
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            headers["x-amz-date"],
            found["scope"],
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, terminator):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return user if hmac.compare_digest(expected, found["signature"]) else None


def _json(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }
