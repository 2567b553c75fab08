"""overcast's Vault API served by uvicorn on loopback, and a raw client that sends paths as written.

hvac (through requests and urllib3) and httpx tidy a URL before sending it (dot segments
go), so spellings an attacker sends byte for byte go through ``http.client`` here.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn

from overcast.secrets import SecretsService


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServedVault:
    """A SecretsService's Vault API on a loopback port, for the length of a ``with``."""

    def __init__(self, service: SecretsService) -> None:
        self.service = service
        self.port = _free_port()
        # h11 accepts hvac's LIST verb; httptools refuses unknown methods.
        config = uvicorn.Config(
            service.api,
            host="127.0.0.1",
            port=self.port,
            http="h11",
            lifespan="off",
            log_level="warning",
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServedVault:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def root_token(self) -> str:
        token = self.service.initial_root_token
        assert token is not None
        return token

    def raw(self, method: str, target: str, token: str | None = None, body: Any = None) -> RawReply:
        """Send ``target`` exactly as written; no redirect is followed."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            headers = {"X-Vault-Token": token} if token else {}
            payload = None if body is None else json.dumps(body).encode()
            conn.request(method, target, body=payload, headers=headers)
            response = conn.getresponse()
            return RawReply(response.status, response.getheader("location"), response.read())
        finally:
            conn.close()


@dataclass(frozen=True)
class RawReply:
    status: int
    location: str | None
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)
