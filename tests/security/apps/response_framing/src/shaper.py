"""Proxy results shaped to frame a second response after the first (see the template)."""

from __future__ import annotations

from typing import Any

#: a whole second response: sent after the first, a client takes it for the next answer
SMUGGLED = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\nContent-Type: text/plain\r\n\r\nsmuggled"

CASES: dict[str, dict[str, Any]] = {
    "ok": {"statusCode": 200, "body": "ok"},
    "no-content": {"statusCode": 204, "body": SMUGGLED},
    "not-modified": {"statusCode": 304, "headers": {"ETag": '"1"'}, "body": SMUGGLED},
    "continue": {"statusCode": 100, "body": SMUGGLED},
    "switching": {
        "statusCode": 101,
        "headers": {"Upgrade": "websocket", "Connection": "Upgrade"},
        "body": SMUGGLED,
    },
    "early-hints": {"statusCode": 103, "headers": {"Link": "</a.css>; rel=preload"}},
    "value-crlf": {
        "statusCode": 200,
        "headers": {"X-Note": "a\r\nSet-Cookie: evil=1"},
        "body": "x",
    },
    "value-lf": {"statusCode": 200, "headers": {"X-Note": "a\nSet-Cookie: evil=1"}, "body": "x"},
    "value-cr": {"statusCode": 200, "headers": {"X-Note": "a\rb"}, "body": "x"},
    "value-nul": {"statusCode": 200, "headers": {"X-Note": "a\u0000b"}, "body": "x"},
    "name-crlf": {"statusCode": 200, "headers": {"X-Note\r\nSet-Cookie": "evil=1"}, "body": "x"},
    "name-space": {"statusCode": 200, "headers": {"X Note": "1"}, "body": "x"},
    "name-empty": {"statusCode": 200, "headers": {"": "1"}, "body": "x"},
    "multi-crlf": {
        "statusCode": 200,
        "multiValueHeaders": {"X-Note": ["fine", "a\r\n\r\n" + SMUGGLED]},
        "body": "x",
    },
    "cookie-crlf": {"statusCode": 200, "cookies": ["a=1\r\nX-Evil: 1"], "body": "x"},
}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return CASES[event["pathParameters"]["case"]]
