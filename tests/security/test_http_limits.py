"""Issue 11, finding A: requests that never finish, and heads without a size limit.

Each behaviour is checked on both ports of ``overcast up`` and of ``overcast serve``,
started with a 2 s header and body timeout and small connection caps so that the
attacks of the finding (a header line every few seconds, a 64 MB header, hundreds of
idle connections) hit the limits quickly. The clients are raw sockets, since the
attacks are malformed or unfinished requests no HTTP client library sends; the
answers are read with the standard library's HTTP response parser.

The socket timeouts below bound how long a test waits for the server to act (so a
server that never acts fails the test instead of hanging it); they are not performance
thresholds.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from process_helpers import RunningPlatform, start_platform

pytestmark = pytest.mark.slow

HEADER_TIMEOUT_S = 2
BODY_TIMEOUT_S = 2
MAX_CONNECTIONS = 40
MAX_CLIENT_CONNECTIONS = 20
MAX_HEADER_BYTES = 20_480
LIMIT_FLAGS = (
    "--header-timeout", str(HEADER_TIMEOUT_S),
    "--body-timeout", str(BODY_TIMEOUT_S),
    "--max-connections", str(MAX_CONNECTIONS),
    "--max-client-connections", str(MAX_CLIENT_CONNECTIONS),
)  # fmt: skip
#: how long a test waits for the server to answer or close (a hang guard, no threshold)
WAIT_S = 30.0
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@dataclass(frozen=True)
class Port:
    """One listening port of a running server, and a request it serves normally."""

    name: str
    address: tuple[str, int]
    normal_request: bytes
    #: the status the normal request gets (the app's own answer, never a 5xx)
    normal_status: int
    pid: int
    #: the head of a request (Content-Length: 1000) whose handler waits for its body
    body_head: bytes
    #: what a body that never comes gets: 408, or the app's answer if it needs no body
    body_status: int = 408


@pytest.fixture(scope="module")
def node(module_running_app: Any) -> Any:
    return module_running_app(EXAMPLES / "hello", extra_args=list(LIMIT_FLAGS))


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    running = start_platform(tmp_path_factory.mktemp("limits") / "state", *LIMIT_FLAGS)
    try:
        yield running
    finally:
        running.stop()


_BODY = b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
#: the Vault API reads a request's body before anything else
_VAULT_WRITE = b"POST /v1/secret/data/x HTTP/1.1\r\nHost: localhost\r\n" + _BODY


def _ports(node: Any, platform: RunningPlatform) -> dict[str, Port]:
    health = b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n"
    hello = b"GET /hello/world HTTP/1.1\r\nHost: localhost\r\n"
    # a host the platform does not serve: its own 421, proof the app answered
    elsewhere = b"GET / HTTP/1.1\r\nHost: nowhere.invalid\r\n"
    up, serve = node.process.pid, platform.process.pid
    return {
        "up-data": Port(
            "up-data", ("127.0.0.1", node.port), hello + b"\r\n", 200, up, hello + _BODY
        ),
        "up-admin": Port("up-admin", ("127.0.0.1", node.admin_port), health, 200, up, _VAULT_WRITE),
        "serve-data": Port(
            "serve-data",
            ("127.0.0.1", platform.port),
            elsewhere + b"\r\n",
            421,
            serve,
            elsewhere + _BODY,
            # answered at once, body unread: then the connection is only closed
            body_status=421,
        ),
        "serve-admin": Port(
            "serve-admin", ("127.0.0.1", platform.admin_port), health, 200, serve, _VAULT_WRITE
        ),
    }


@pytest.fixture(params=["up-data", "up-admin", "serve-data", "serve-admin"])
def port(request: pytest.FixtureRequest, node: Any, platform: RunningPlatform) -> Port:
    return _ports(node, platform)[request.param]


def _connect(address: tuple[str, int], source: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection(address, timeout=WAIT_S, source_address=(source, 0))
    sock.settimeout(WAIT_S)
    return sock


def _response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """The next response on ``sock`` (status, headers, body), read with http.client."""
    reply = http.client.HTTPResponse(sock)
    reply.begin()
    body = reply.read()
    return reply.status, {k.lower(): v for k, v in reply.getheaders()}, body


def _closed(sock: socket.socket) -> bool:
    """Whether the server closed the connection (EOF or reset) within WAIT_S."""
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


def _normal(port: Port, source: str = "127.0.0.1") -> int:
    with _connect(port.address, source) as sock:
        sock.sendall(port.normal_request)
        return _response(sock)[0]


def _message(body: bytes) -> str:
    decoded = json.loads(body)
    assert isinstance(decoded, dict)
    assert set(decoded) == {"message"}
    return str(decoded["message"])


def test_a_request_head_sent_a_line_at_a_time_is_answered_408_and_closed(port: Port) -> None:
    with _connect(port.address) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        # A header line every half second, past the 2 s the whole head may take: each
        # line alone is prompt, so only a deadline on the whole head ends this.
        status = None
        for n in range(int(WAIT_S * 2)):
            try:
                sock.sendall(b"X-Slow-%d: 1\r\n" % n)
            except (BrokenPipeError, ConnectionResetError):
                break
            sock.settimeout(0.5)
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    break
            except TimeoutError:
                continue
        sock.settimeout(WAIT_S)
        status, headers, body = _response(sock)
        assert status == 408
        assert headers["connection"] == "close"
        assert "request" in _message(body).lower()
        assert _closed(sock)
    assert _normal(port) == port.normal_status


def test_a_connection_that_never_sends_a_request_is_closed(port: Port) -> None:
    with _connect(port.address) as sock:
        assert sock.recv(65536) == b"", "nothing is said to a client that said nothing"


def test_an_oversized_request_head_is_answered_431_before_it_ends(port: Port) -> None:
    with _connect(port.address) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ")
        # The head never ends: a server that buffers it waits for more and never answers.
        # 1 MB of it (the finding's was 64 MB): far past the limit, never finished.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for _ in range(16):
                sock.sendall(b"a" * 65536)
        status, headers, body = _response(sock)
        assert status == 431
        assert headers["connection"] == "close"
        assert str(MAX_HEADER_BYTES) in _message(body)
    assert _normal(port) == port.normal_status


def test_a_head_just_under_the_limit_is_served(port: Port) -> None:
    request = port.normal_request[:-2]
    filler = MAX_HEADER_BYTES - len(request) - len(b"X-Pad: \r\n\r\n")
    with _connect(port.address) as sock:
        sock.sendall(request + b"X-Pad: " + b"p" * filler + b"\r\n\r\n")
        assert _response(sock)[0] == port.normal_status


def test_a_body_sent_too_slowly_is_answered_408_and_closed(port: Port) -> None:
    with _connect(port.address) as sock:
        sock.sendall(port.body_head + b"{")
        status, headers, body = _response(sock)
        assert status == port.body_status
        if status == 408:
            assert headers["connection"] == "close"
            _message(body)
        assert _closed(sock)


def test_connections_past_the_per_client_cap_get_503_and_other_clients_are_served(
    port: Port,
) -> None:
    held = [_connect(port.address) for _ in range(MAX_CLIENT_CONNECTIONS)]
    try:
        for sock in held:
            sock.sendall(b"GET / HTTP/1.1\r\n")
        with _connect(port.address) as extra:
            extra.sendall(port.normal_request)
            status, headers, body = _response(extra)
            assert status == 503
            assert headers["connection"] == "close"
            _message(body)
        # Another address (the whole of 127.0.0.0/8 is this machine) is still served.
        assert _normal(port, source="127.0.0.2") == port.normal_status
    finally:
        for sock in held:
            sock.close()


def test_connections_past_the_port_cap_get_503(port: Port) -> None:
    held = []
    try:
        for n in range(MAX_CONNECTIONS):
            sock = _connect(port.address, source=f"127.0.0.{10 + n % 3}")
            sock.sendall(b"GET / HTTP/1.1\r\n")
            held.append(sock)
        with _connect(port.address, source="127.0.0.20") as extra:
            extra.sendall(port.normal_request)
            assert _response(extra)[0] == 503
    finally:
        for sock in held:
            sock.close()


def test_hundreds_of_unfinished_requests_neither_exhaust_descriptors_nor_leak_them(
    port: Port,
) -> None:
    server = psutil.Process(port.pid)
    before = server.num_fds()
    attackers = []
    try:
        for n in range(260):
            sock = _connect(port.address, source=f"127.0.1.{n % 50 + 1}")
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
            attackers.append(sock)
        # Accepted connections past the cap are answered and closed, not kept.
        assert server.num_fds() <= before + MAX_CONNECTIONS + 2 * MAX_CLIENT_CONNECTIONS
        # While they hold the port, a request from elsewhere is refused cleanly or served,
        # never answered 500.
        assert _normal(port, source="127.0.2.1") in (port.normal_status, 503)
        for sock in attackers:
            sock.settimeout(WAIT_S)
            assert _closed(sock)
    finally:
        for sock in attackers:
            sock.close()
    assert _normal(port, source="127.0.2.1") == port.normal_status
    deadline = time.monotonic() + WAIT_S
    while server.num_fds() > before + 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.num_fds() <= before + 2, "descriptors of closed connections leaked"


def test_the_limits_are_documented_where_the_flags_are(tmp_path: Path) -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "tls.md").read_text()
    for flag in (
        "--header-timeout",
        "--body-timeout",
        "--max-header-bytes",
        "--max-connections",
        "--max-client-connections",
    ):
        assert flag in docs
