"""What the admin port can refuse before reading a request's body."""

from __future__ import annotations

from pathlib import Path

from overcast.control.access import AccessControl, Denied, content_length
from overcast.control.access_keys import KeyStore
from overcast.control.sigv4 import sign


def _scope(headers: dict[str, str]) -> dict[str, object]:
    return {
        "method": "POST",
        "path": "/2015-03-31/functions/Fn/invocations",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }


def _signed_headers(key_id: str, secret: str) -> dict[str, str]:
    return sign(
        "POST",
        "http://127.0.0.1:3001/2015-03-31/functions/Fn/invocations",
        {"host": "127.0.0.1:3001"},
        b"{}",
        access_key_id=key_id,
        secret=secret,
        region="us-east-1",
        service="lambda",
    )


def test_a_request_without_authorization_is_refused_before_its_body(tmp_path: Path) -> None:
    access = AccessControl(KeyStore(tmp_path), "123456789012")
    denied = access.precheck(_scope({}))
    assert denied is not None
    assert denied.code == "MissingAuthenticationTokenException"


def test_an_unknown_key_is_refused_before_its_body(tmp_path: Path) -> None:
    access = AccessControl(KeyStore(tmp_path), "123456789012")
    headers = _signed_headers("AKIANOSUCHKEY0000000", "x" * 40)
    denied = access.precheck(_scope(headers))
    assert denied is not None
    assert denied.code == "UnrecognizedClientException"


def test_a_known_key_goes_on_to_the_full_signature_check(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path)
    admin = keys.ensure_admin_key() or keys.all()[0]
    access = AccessControl(keys, "123456789012")
    headers = _signed_headers(admin.access_key_id, admin.secret_access_key)
    assert access.precheck(_scope(headers)) is None


def _deploy_scope(headers: dict[str, str]) -> dict[str, object]:
    return {
        "method": "PUT",
        "path": "/overcast/artifacts/" + "a" * 64,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }


def _upload_headers(key_id: str, secret: str, payload_hash: str) -> dict[str, str]:
    return sign(
        "PUT",
        "http://127.0.0.1:3001/overcast/artifacts/" + "a" * 64,
        {},
        b"",
        access_key_id=key_id,
        secret=secret,
        region="us-east-1",
        service="overcast",
        payload_hash=payload_hash,
    )


def test_a_declared_payload_hash_lets_the_signature_be_checked_on_the_head(
    tmp_path: Path,
) -> None:
    keys = KeyStore(tmp_path)
    admin = keys.ensure_admin_key() or keys.all()[0]
    access = AccessControl(keys, "123456789012")
    headers = _upload_headers(admin.access_key_id, admin.secret_access_key, "b" * 64)
    checked = access.authenticate_head(_deploy_scope(headers))
    assert not isinstance(checked, Denied)
    assert checked == (admin, "b" * 64)


def test_a_head_without_a_declared_hash_is_refused(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path)
    admin = keys.ensure_admin_key() or keys.all()[0]
    access = AccessControl(keys, "123456789012")
    headers = _upload_headers(admin.access_key_id, admin.secret_access_key, "b" * 64)
    del headers["X-Amz-Content-SHA256"]
    denied = access.authenticate_head(_deploy_scope(headers))
    assert isinstance(denied, Denied)
    assert denied.code == "IncompleteSignatureException"


def test_an_unsigned_payload_hash_header_is_refused(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path)
    admin = keys.ensure_admin_key() or keys.all()[0]
    access = AccessControl(keys, "123456789012")
    headers = _upload_headers(admin.access_key_id, admin.secret_access_key, "b" * 64)
    headers["Authorization"] = headers["Authorization"].replace("x-amz-content-sha256;", "")
    denied = access.authenticate_head(_deploy_scope(headers))
    assert isinstance(denied, Denied)
    assert "must be a signed header" in denied.message


def test_content_length_is_read_without_trusting_it() -> None:
    def length(value: str) -> int | None:
        return content_length({"headers": [(b"content-length", value.encode())]})

    assert length("1024") == 1024
    assert length("-1") is None
    assert length("1e9") is None
    assert length("9" * 5000) == 2**63
    assert content_length({"headers": []}) is None
