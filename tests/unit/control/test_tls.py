"""TLS files: what serves, and what fails the start with a clear message."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from overcast.control.tls import TlsError, TlsFiles, is_loopback, tls_files


def _key_pem(key: ec.EllipticCurvePrivateKey, password: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "c.pem", tmp_path / "k.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(_key_pem(key))
    return cert_path, key_path, key


def test_a_matching_pair_makes_a_tls12_http11_server_context(
    pair: tuple[Path, Path, ec.EllipticCurvePrivateKey],
) -> None:
    context = TlsFiles(pair[0], pair[1]).server_context()
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2
    assert context.protocol is ssl.PROTOCOL_TLS_SERVER


def test_a_key_of_another_certificate_is_refused(
    pair: tuple[Path, Path, ec.EllipticCurvePrivateKey], tmp_path: Path
) -> None:
    other = tmp_path / "other.pem"
    other.write_bytes(_key_pem(ec.generate_private_key(ec.SECP256R1())))
    with pytest.raises(TlsError, match="cannot serve TLS"):
        TlsFiles(pair[0], other).server_context()


def test_an_encrypted_key_is_refused_without_a_prompt(
    pair: tuple[Path, Path, ec.EllipticCurvePrivateKey], tmp_path: Path
) -> None:
    locked = tmp_path / "locked.pem"
    locked.write_bytes(_key_pem(pair[2], b"secret"))
    with pytest.raises(TlsError, match="encrypted"):
        TlsFiles(pair[0], locked).server_context()


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(TlsError, match=r"no such file"):
        TlsFiles(tmp_path / "nope.pem", tmp_path / "nope.key").server_context()


def test_a_certificate_and_key_go_together(tmp_path: Path) -> None:
    assert tls_files(None, None, "--tls") is None
    assert tls_files(tmp_path / "c", tmp_path / "k", "--tls") == TlsFiles(
        tmp_path / "c", tmp_path / "k"
    )
    with pytest.raises(TlsError, match="--admin-tls-cert and --admin-tls-key"):
        tls_files(tmp_path / "c", None, "--admin-tls")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.3.2.1", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("192.0.2.7", False), ("example.test", False)],
)  # fmt: skip
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
