"""Small request builders shared by the auth-service unit tests."""

from __future__ import annotations

import json
from typing import Any

from authcore import AuthService, Result

PASSWORD = "correct horse battery"


def body(**fields: Any) -> str:
    return json.dumps(fields)


def register(service: AuthService, email: str, password: str = PASSWORD) -> Result:
    result = service.register(body(email=email, password=password))
    assert result.status == 201, result
    return result


def login(
    service: AuthService, email: str, password: str = PASSWORD, ip: str = "198.51.100.7"
) -> Result:
    return service.login(body(email=email, password=password), ip)


def tokens(service: AuthService, email: str, password: str = PASSWORD) -> dict[str, Any]:
    result = login(service, email, password)
    assert result.status == 200, result
    assert result.body is not None
    return result.body


def bearer(token: str) -> str:
    return f"Bearer {token}"
