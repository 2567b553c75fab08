"""Issue 11: a handler cannot shape its proxy result into a second response on the wire.

A handler returning ``statusCode`` 204 or 304 with a body had it sent after the head
with its ``content-length``: a keep-alive client read that body as the answer to its
next request (here a whole injected ``HTTP/1.1 200`` response). A 1xx status passed
through, and CR, LF or NUL in a header name or value dropped the connection with an
empty reply.

What API Gateway does, and overcast now does:

- 204 and 304 carry no body (RFC 9110 §6.4.1: "All 1xx, 204 and 304 responses do
  not include content"); the function's body is dropped.
- A 1xx is not a final response, and a Lambda proxy result can only be one: API
  Gateway documents no 1xx passthrough, so the result is malformed, which is the API's
  integration error (REST: 502 ``{"message": "Internal server error"}``, "Malformed
  Lambda proxy response",
  https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html;
  HTTP API: 500 ``{"message":"Internal Server Error"}``,
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html).
- A header name that is not an RFC 9110 token, or a value holding CR, LF or NUL, makes
  the result malformed in the same way.

Each case runs over a real socket against ``overcast up`` on
``tests/security/apps/response_framing`` (alone, and behind the edge), for an HTTP API
with payload 2.0 and 1.0 and a REST API: one request on a keep-alive connection,
exactly one response read, then a second request on the same connection whose answer
must be its own (the handler's ``ok``), not anything the first one smuggled. Socket
timeouts only stop a broken server from hanging the test.
"""

from __future__ import annotations

import http.client
import io
import json
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

APP = Path(__file__).parent / "apps" / "response_framing"
WAIT_S = 30.0
APIS = ("http", "http1", "rest")
#: the integration error of each API type, byte for byte
INTEGRATION_ERROR = {
    "http": (500, b'{"message":"Internal Server Error"}'),
    "http1": (500, b'{"message":"Internal Server Error"}'),
    "rest": (502, b'{"message": "Internal server error"}'),
}


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)


class _Unclosed(io.BufferedReader):
    """The connection's one read buffer; http.client closes it after each response."""

    def close(self) -> None:
        pass

    def really_close(self) -> None:
        super().close()


class _OneFile:
    """Hands http.client the connection's single read buffer, so nothing read ahead is lost."""

    def __init__(self, rfile: _Unclosed) -> None:
        self.rfile = rfile

    def makefile(self, _mode: str) -> _Unclosed:
        return self.rfile


class Connection:
    """One keep-alive connection; each answer is framed exactly as a client frames it."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_connection(address, timeout=WAIT_S)
        self.rfile = _Unclosed(socket.SocketIO(self.sock, "rb"))

    def get(self, path: str) -> Answer:
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        response = http.client.HTTPResponse(_OneFile(self.rfile), method="GET")  # type: ignore[arg-type]
        response.begin()
        body = response.read()
        return Answer(response.status, response.getheaders(), body)

    def close(self) -> None:
        self.rfile.really_close()
        self.sock.close()


#: the same app behind overcast's edge (CloudFront's part), which passes the API's
#: headers on: nothing the handler shaped may get through it either
EDGE_METADATA = """
Metadata:
  overcast:
    edge:
      behaviors:
        - path_pattern: '*'
          origin: api
          cache: CachingDisabled
"""


@pytest.fixture(scope="module", params=["gateway", "edge"])
def address(
    request: pytest.FixtureRequest,
    module_running_app: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[str, int]:
    app_dir = APP
    if request.param == "edge":
        app_dir = tmp_path_factory.mktemp("edge") / "response_framing"
        shutil.copytree(APP, app_dir)
        template = app_dir / "template.yaml"
        template.write_text(template.read_text() + EDGE_METADATA)
    app = module_running_app(app_dir)
    return (app.host, app.port)


@pytest.fixture
def connection(address: tuple[str, int]) -> Iterator[Connection]:
    opened = Connection(address)
    try:
        yield opened
    finally:
        opened.close()


def then_the_connection_serves_its_own_next_answer(connection: Connection, api: str) -> None:
    second = connection.get(f"/{api}/ok")
    assert (second.status, second.body) == (200, b"ok"), second


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(("case", "status"), [("no-content", 204), ("not-modified", 304)])
def test_a_body_on_204_and_304_is_dropped(
    connection: Connection, api: str, case: str, status: int
) -> None:
    first = connection.get(f"/{api}/{case}")
    assert first.status == status
    assert first.body == b""
    assert first.header("content-length") in (None, "0")
    assert first.header("transfer-encoding") is None
    then_the_connection_serves_its_own_next_answer(connection, api)


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("case", ["continue", "switching", "early-hints"])
def test_a_1xx_status_is_the_apis_integration_error(
    connection: Connection, api: str, case: str
) -> None:
    first = connection.get(f"/{api}/{case}")
    assert (first.status, first.body) == INTEGRATION_ERROR[api]
    assert first.header("upgrade") is None
    then_the_connection_serves_its_own_next_answer(connection, api)


HEADER_CASES = ["value-crlf", "value-lf", "value-cr", "value-nul", "name-crlf", "name-space"]


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("case", [*HEADER_CASES, "name-empty"])
def test_a_header_with_cr_lf_nul_or_a_bad_name_is_the_apis_integration_error(
    connection: Connection, api: str, case: str
) -> None:
    first = connection.get(f"/{api}/{case}")
    assert (first.status, first.body) == INTEGRATION_ERROR[api]
    assert first.header("set-cookie") is None
    then_the_connection_serves_its_own_next_answer(connection, api)


@pytest.mark.parametrize("api", ["http1", "rest"])
def test_a_bad_multi_value_header_is_the_apis_integration_error(
    connection: Connection, api: str
) -> None:
    first = connection.get(f"/{api}/multi-crlf")
    assert (first.status, first.body) == INTEGRATION_ERROR[api]
    then_the_connection_serves_its_own_next_answer(connection, api)


def test_a_bad_cookie_is_the_http_apis_integration_error(connection: Connection) -> None:
    first = connection.get("/http/cookie-crlf")
    assert (first.status, first.body) == INTEGRATION_ERROR["http"]
    assert first.header("x-evil") is None
    then_the_connection_serves_its_own_next_answer(connection, "http")


def test_the_error_is_json_as_the_api_type_sends_it(connection: Connection) -> None:
    first = connection.get("/rest/value-crlf")
    assert json.loads(first.body) == {"message": "Internal server error"}
    assert first.header("content-type") == "application/json"
