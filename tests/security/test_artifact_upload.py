"""Issue 11: large bodies were read before their signature was checked.

A ``PUT /overcast/artifacts/<sha256>`` with a known key id and a zero signature made
``overcast serve`` read all 100 MB before its 403, and uploads (up to 250 MB each) had
no bound on how many ran at once. Now everything the head settles is settled before a
byte of the body is read — the key, the signature over the declared payload hash, the
role, the size — the body is streamed to a temporary file beside its final place while
it is hashed, and at most ``MAX_CONCURRENT_UPLOADS`` uploads run at once.

The clients are raw sockets: each sends a head announcing a large body and only a
little of it, then reads the answer. A server that waited for the whole body would
never answer; the socket timeout (``WAIT_S``) bounds that wait, and is no threshold.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from overcast.control.access_keys import KeyStore, read_credentials_file
from overcast.control.deploy_api import MAX_ARTIFACT_BYTES, MAX_CONCURRENT_UPLOADS
from overcast.control.sigv4 import sign
from process_helpers import RunningPlatform, start_platform

pytestmark = pytest.mark.slow

#: how long a test waits for an answer (a hang guard, no threshold)
WAIT_S = 20.0
HUNDRED_MB = 100 * 1024 * 1024
#: what a client sends of a large body before it expects an answer
SOME_BODY = b"\0" * 65_536


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    running = start_platform(tmp_path_factory.mktemp("upload") / "state")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def admin(platform: RunningPlatform) -> tuple[str, str]:
    return read_credentials_file(KeyStore(platform.state_dir).admin_credentials_path)


def _artifacts(platform: RunningPlatform) -> Path:
    return platform.state_dir / "buckets" / "artifacts" / "objects" / "sha256"


def _head(
    platform: RunningPlatform,
    key: tuple[str, str],
    digest: str,
    length: int,
    *,
    payload_hash: str | None = None,
    signature: str | None = None,
) -> bytes:
    """The head of a signed artifact upload announcing ``length`` bytes of body."""
    path = f"/overcast/artifacts/{digest}"
    headers = sign(
        "PUT",
        platform.admin_url + path,
        {"Content-Type": "application/octet-stream"},
        b"",
        access_key_id=key[0],
        secret=key[1],
        region="us-east-1",
        service="overcast",
        payload_hash=payload_hash or digest,
    )
    if signature is not None:
        auth = headers["Authorization"]
        headers["Authorization"] = auth[: auth.rindex("Signature=")] + f"Signature={signature}"
    if payload_hash == "":
        del headers["X-Amz-Content-SHA256"]
    headers["Content-Length"] = str(length)
    lines = [f"PUT {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@contextlib.contextmanager
def _connection(platform: RunningPlatform) -> Iterator[socket.socket]:
    sock = socket.create_connection(("127.0.0.1", platform.admin_port), timeout=WAIT_S)
    try:
        yield sock
    finally:
        sock.close()


def _answer(sock: socket.socket) -> tuple[int, dict[str, str], dict[str, object]]:
    """Read one response: status, headers (lower-case names), JSON body."""
    response = http.client.HTTPResponse(sock)
    try:
        response.begin()
    except TimeoutError:
        pytest.fail(f"no answer within {WAIT_S} s: the server is waiting for the body")
    headers = {k.lower(): v for k, v in response.getheaders()}
    return response.status, headers, json.loads(response.read())


def _refused_early(
    platform: RunningPlatform, head: bytes
) -> tuple[int, dict[str, str], dict[str, object]]:
    """Send ``head`` and a little of its body; the answer that comes back meanwhile."""
    with _connection(platform) as sock:
        sock.sendall(head + SOME_BODY)
        return _answer(sock)


def _digest(seed: bytes) -> str:
    return hashlib.sha256(seed).hexdigest()


def test_a_zero_signature_is_refused_before_the_body_is_read(
    platform: RunningPlatform, admin: tuple[str, str]
) -> None:
    digest = _digest(b"zero signature")
    head = _head(platform, admin, digest, HUNDRED_MB, signature="0" * 64)
    status, headers, body = _refused_early(platform, head)
    assert status == 403
    assert headers["x-amzn-errortype"] == "InvalidSignatureException"
    assert "signature" in str(body["message"]).lower()
    assert not (_artifacts(platform) / digest).exists()


def test_an_upload_that_declares_no_payload_hash_is_refused_before_its_body(
    platform: RunningPlatform, admin: tuple[str, str]
) -> None:
    head = _head(platform, admin, _digest(b"undeclared"), HUNDRED_MB, payload_hash="")
    status, headers, body = _refused_early(platform, head)
    assert status == 403
    assert headers["x-amzn-errortype"] == "IncompleteSignatureException"
    assert "x-amz-content-sha256" in str(body["message"])


def test_unsigned_payload_is_refused_before_the_body(
    platform: RunningPlatform, admin: tuple[str, str]
) -> None:
    head = _head(platform, admin, _digest(b"unsigned"), HUNDRED_MB, payload_hash="UNSIGNED-PAYLOAD")
    status, headers, _body = _refused_early(platform, head)
    assert status == 403
    assert headers["x-amzn-errortype"] == "InvalidSignatureException"


def test_a_declared_hash_other_than_the_artifact_name_is_refused_before_the_body(
    platform: RunningPlatform, admin: tuple[str, str]
) -> None:
    head = _head(platform, admin, _digest(b"name"), HUNDRED_MB, payload_hash=_digest(b"other"))
    status, headers, _body = _refused_early(platform, head)
    assert status == 400
    assert headers["x-amzn-errortype"] == "InvalidParameterValueException"


def test_a_key_whose_role_may_not_upload_is_refused_before_the_body(
    platform: RunningPlatform,
) -> None:
    created = platform.cli_plain(
        "keys", "create", "--role", "viewer", "--platform", str(platform.state_dir)
    )
    assert created.returncode == 0, created.stderr.decode()
    pairs = dict(
        line.split(" = ", 1) for line in created.stdout.decode().splitlines() if " = " in line
    )
    viewer = (pairs["aws_access_key_id"], pairs["aws_secret_access_key"])
    status, headers, _body = _refused_early(
        platform, _head(platform, viewer, _digest(b"viewer"), HUNDRED_MB)
    )
    assert status == 403
    assert headers["x-amzn-errortype"] == "AccessDeniedException"


def test_a_content_length_over_the_cap_is_answered_413_before_the_body(
    platform: RunningPlatform, admin: tuple[str, str]
) -> None:
    head = _head(platform, admin, _digest(b"huge"), MAX_ARTIFACT_BYTES + 1)
    status, headers, _body = _refused_early(platform, head)
    assert status == 413
    assert headers["x-amzn-errortype"] == "RequestTooLargeException"


def test_the_body_is_streamed_to_a_temporary_file_beside_its_final_name(
    platform: RunningPlatform, admin: tuple[str, str]
) -> None:
    data = bytes(range(256)) * 8192  # 2 MiB
    digest = _digest(data)
    folder = _artifacts(platform)
    with _connection(platform) as sock:
        sock.sendall(_head(platform, admin, digest, len(data)) + data[: len(data) // 2])
        # Half the body is in: it is on disk under a temporary name, not the final one.
        _wait_for(lambda: any(_temporary_sizes(folder)))
        assert not (folder / digest).exists()
        sock.sendall(data[len(data) // 2 :])
        status, _headers, body = _answer(sock)
    assert status == 201, body
    assert body == {"Digest": digest, "Size": len(data)}
    assert (folder / digest).read_bytes() == data
    assert not list(folder.glob(".tmp-*"))


def test_a_body_that_is_not_its_declared_hash_is_refused_and_nothing_is_kept(
    platform: RunningPlatform, admin: tuple[str, str]
) -> None:
    data = b"the bytes named" * 1000
    digest = _digest(data)
    forged = b"X" + data[1:]
    with _connection(platform) as sock:
        sock.sendall(_head(platform, admin, digest, len(forged)) + forged)
        status, headers, _body = _answer(sock)
    assert status == 403
    assert headers["x-amzn-errortype"] == "InvalidSignatureException"
    assert not (_artifacts(platform) / digest).exists()
    assert not list(_artifacts(platform).glob(".tmp-*"))


def test_uploads_past_the_concurrency_bound_are_told_to_retry(
    platform: RunningPlatform, admin: tuple[str, str]
) -> None:
    bodies = [b"%d" % i * 200_000 for i in range(MAX_CONCURRENT_UPLOADS)]
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(_connection(platform)) for _ in bodies]
        for sock, data in zip(socks, bodies, strict=True):
            sock.sendall(_head(platform, admin, _digest(data), len(data)) + data[:1000])
        folder = _artifacts(platform)
        _wait_for(lambda: len(list(folder.glob(".tmp-*"))) >= MAX_CONCURRENT_UPLOADS)
        extra = _head(platform, admin, _digest(b"one too many"), HUNDRED_MB)
        status, headers, body = _refused_early(platform, extra)
        assert status == 429
        assert headers["x-amzn-errortype"] == "TooManyRequestsException"
        assert int(headers["retry-after"]) >= 1
        assert "retry" in str(body["message"])
        for sock, data in zip(socks, bodies, strict=True):
            sock.sendall(data[1000:])
            assert _answer(sock)[0] == 201
    # The slots are free again: the client the platform turned away gets in now.
    answer = platform.client().request("PUT", f"/overcast/artifacts/{_digest(b'later')}", b"later")
    assert answer == {"Digest": _digest(b"later"), "Size": 5}


def test_overcast_deploys_client_uploads_and_the_platform_lists_it_stored(
    platform: RunningPlatform,
) -> None:
    data = b"PK\x05\x06" + b"\0" * 18  # an empty zip
    client = platform.client()
    digest = _digest(data)
    assert client.request(
        "POST", "/overcast/artifacts/missing", json.dumps({"Digests": [digest]}).encode()
    ) == {"Missing": [digest]}
    assert client.request("PUT", f"/overcast/artifacts/{digest}", data)["Size"] == len(data)
    missing = client.request(
        "POST", "/overcast/artifacts/missing", json.dumps({"Digests": [digest]}).encode()
    )
    assert missing == {"Missing": []}


def _temporary_sizes(folder: Path) -> list[int]:
    sizes = []
    for temp in folder.glob(".tmp-*"):
        with contextlib.suppress(FileNotFoundError):
            sizes.append(temp.stat().st_size)
    return [size for size in sizes if size > 0]


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not seen within {WAIT_S} s")
        time.sleep(0.02)
