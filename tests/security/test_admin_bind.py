"""Issue 11, finding B: the admin port, bound apart from the data port, and TLS.

``--host 0.0.0.0`` opened the admin port (Vault tokens, the dashboard's sign-in, the
Lambda API) on every interface in clear HTTP. Now the admin port listens on loopback
unless ``--admin-host`` says otherwise, refuses a non-loopback address without TLS,
and both ports serve TLS with a certificate given on the command line. The TLS
clients are real ones (httpx, boto3, the overcast CLI) trusting a CA made for the test.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import psutil
import pytest
from botocore.config import Config
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from overcast.control.access_keys import KeyStore, read_credentials_file
from overcast.control.app_loading import find_template, state_dir_for
from process_helpers import PLATFORM_DOMAIN, free_port, overcast_argv, start_platform

pytestmark = pytest.mark.slow

READY_S = 60.0
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def copy_app(app_dir: Path, parent: Path) -> Path:
    """A copy of ``app_dir`` under ``parent`` (its state then lands there too)."""
    dest = parent / app_dir.name
    shutil.copytree(app_dir, dest, ignore=shutil.ignore_patterns(".overcast", "__pycache__"))
    return dest


def _outside_address() -> str | None:
    """An IPv4 address of this machine that is not loopback (None: it has none)."""
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if (
                address.family == socket.AF_INET
                and not ipaddress.ip_address(address.address).is_loopback
            ):
                return str(address.address)
    return None


def _listening(pid: int) -> dict[int, str]:
    """The TCP ports process ``pid`` listens on, and the address each is bound to."""
    return {
        conn.laddr.port: conn.laddr.ip
        for conn in psutil.Process(pid).net_connections(kind="tcp")
        if conn.status == psutil.CONN_LISTEN
    }


def _refused(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=5):
            return False
    except ConnectionRefusedError:
        return True


def test_the_admin_port_stays_on_loopback_when_the_data_port_listens_everywhere(
    running_app: Any,
) -> None:
    app = running_app(EXAMPLES / "hello", host="0.0.0.0")
    bound = _listening(app.process.pid)
    assert bound[app.port] == "0.0.0.0"
    assert bound[app.admin_port] == "127.0.0.1"
    outside = _outside_address()
    if outside is None:
        pytest.skip("this machine has no non-loopback address to try the ports from")
    assert _refused(outside, app.admin_port)
    reached = httpx.get(f"http://{outside}:{app.port}/hello/world", timeout=30)
    assert reached.status_code == 200


def test_the_platforms_admin_port_stays_on_loopback_too(tmp_path: Path) -> None:
    platform = start_platform(tmp_path / "state", "--host", "0.0.0.0")
    try:
        bound = _listening(platform.process.pid)
        assert bound[platform.port] == "0.0.0.0"
        assert bound[platform.admin_port] == "127.0.0.1"
        outside = _outside_address()
        if outside is not None:
            assert _refused(outside, platform.admin_port)
    finally:
        platform.stop()


def test_a_non_loopback_admin_host_without_tls_is_refused(tmp_path: Path) -> None:
    app = copy_app(EXAMPLES / "hello", tmp_path)
    argv = [
        *overcast_argv(), "up", str(app), "--port", str(free_port()),
        "--admin-port", str(free_port()), "--admin-host", "0.0.0.0",
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, timeout=120, check=False)
    assert done.returncode == 1
    said = done.stderr.decode()
    assert "--admin-tls-cert" in said
    assert "clear HTTP" in said


# --- TLS ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    """A CA and one server certificate it signed, for 127.0.0.1 and localhost."""

    ca: Path
    cert: Path
    key: Path

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("overcast test CA"))
        .issuer_name(_name("overcast test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    hosts = ["localhost", "example.test", "dev.example.test"]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [*map(x509.DNSName, hosts), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = Pki(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    paths.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def _tls_flags(pki: Pki) -> list[str]:
    return [
        "--tls-cert", str(pki.cert), "--tls-key", str(pki.key),
        "--admin-tls-cert", str(pki.cert), "--admin-tls-key", str(pki.key),
    ]  # fmt: skip


@dataclass
class Started:
    process: subprocess.Popen[bytes]
    port: int
    admin_port: int
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]


@pytest.fixture
def launch(tmp_path: Path, pki: Pki) -> Iterator[list[Started]]:
    started: list[Started] = []
    yield started
    for one in started:
        if one.process.poll() is None:
            one.process.send_signal(signal.SIGINT)
            try:
                one.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(one.process.pid, signal.SIGKILL)
                one.process.wait(timeout=5)


def _start(started: list[Started], argv: list[str], log: Path, pki: Pki) -> Started:
    """Run ``argv`` (with --port/--admin-port added) until its admin /health answers
    over HTTPS."""
    port, admin_port = free_port(), free_port()
    while admin_port == port:
        admin_port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*argv, "--port", str(port), "--admin-port", str(admin_port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    one = Started(process, port, admin_port, log)
    started.append(one)
    deadline = time.monotonic() + READY_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("it exited before it was ready\n" + one.output())
        try:
            health = httpx.get(
                f"https://127.0.0.1:{admin_port}/health", verify=pki.context(), timeout=2
            )
            if health.status_code == 200:
                return one
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail("it did not become ready\n" + one.output())


def test_up_serves_both_ports_over_tls_to_real_clients(
    tmp_path: Path, pki: Pki, launch: list[Started]
) -> None:
    app = copy_app(EXAMPLES / "hello", tmp_path)
    node = _start(
        launch, [*overcast_argv(), "up", str(app), *_tls_flags(pki)], tmp_path / "up.log", pki
    )
    hello = httpx.get(f"https://127.0.0.1:{node.port}/hello/world", verify=pki.context())
    assert hello.status_code == 200
    assert hello.url.scheme == "https"
    # A client that does not trust the CA is turned away by its own TLS check.
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"https://127.0.0.1:{node.port}/hello/world")
    # Clear HTTP on a TLS port gets no HTTP answer.
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{node.port}/hello/world", timeout=10)

    key_id, secret = read_credentials_file(
        KeyStore(state_dir_for(find_template(app))).admin_credentials_path
    )
    lam = boto3.client(
        "lambda",
        region_name="us-east-1",
        endpoint_url=f"https://127.0.0.1:{node.admin_port}",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        verify=str(pki.ca),
        config=Config(retries={"max_attempts": 0}),
    )
    answer = lam.invoke(FunctionName="HelloWorldFunction", Payload=b"{}")
    assert answer["StatusCode"] == 200

    # The CLI finds the node's https admin URL in the node file, and trusts the CA
    # the way OpenSSL-based clients do: SSL_CERT_FILE.
    invoked = subprocess.run(
        [*overcast_argv(), "invoke", "HelloWorldFunction"],
        cwd=app,
        capture_output=True,
        timeout=120,
        check=False,
        env={**os.environ, "SSL_CERT_FILE": str(pki.ca)},
    )
    assert invoked.returncode == 0, invoked.stderr.decode()
    assert b"statusCode" in invoked.stdout


ACCESS_APP = Path(__file__).resolve().parents[1] / "integration" / "apps" / "function_access"


@pytest.mark.parametrize("isolation", ["sandboxed", "--no-sandbox"])
def test_functions_reach_vault_and_lambda_when_the_admin_port_speaks_tls(
    tmp_path: Path, pki: Pki, launch: list[Started], isolation: str
) -> None:
    """Functions are not given the admin port's CA: they keep a plain loopback way in."""
    app = copy_app(ACCESS_APP, tmp_path)
    for path, pair in (("Caller/config", "value=callers-own"), ("Target/config", "value=t")):
        put = subprocess.run(
            [*overcast_argv(), "secrets", "put", path, pair, "--app", str(app)],
            cwd=app, capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        assert put.returncode == 0, put.stderr.decode()
    extra = [] if isolation == "sandboxed" else [isolation]
    node = _start(
        launch,
        [*overcast_argv(), "up", str(app), *_tls_flags(pki), *extra],
        tmp_path / "up.log",
        pki,
    )
    key_id, secret = read_credentials_file(
        KeyStore(state_dir_for(find_template(app))).admin_credentials_path
    )
    lam = boto3.client(
        "lambda",
        region_name="us-east-1",
        endpoint_url=f"https://127.0.0.1:{node.admin_port}",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        verify=str(pki.ca),
        config=Config(retries={"max_attempts": 0}, read_timeout=60),
    )

    def caller(event: dict[str, str]) -> object:
        answer = lam.invoke(FunctionName="Caller", Payload=json.dumps(event))
        assert "FunctionError" not in answer, answer["Payload"].read()
        return json.loads(answer["Payload"].read())

    assert caller({"read": "Caller/config"}) == {"status": 200, "data": {"value": "callers-own"}}
    assert caller({"read": "Target/config"}) == {"status": 403}
    assert caller({"invoke": "Target"}) == {"payload": {"pong": 1, "name": "Target"}}


def test_serve_deploys_and_serves_over_tls(tmp_path: Path, pki: Pki, launch: list[Started]) -> None:
    state = tmp_path / "state"
    platform = _start(
        launch,
        [*overcast_argv(), "serve", "--state-dir", str(state), "--domain", PLATFORM_DOMAIN,
         *_tls_flags(pki)],
        tmp_path / "serve.log",
        pki,
    )  # fmt: skip
    app = copy_app(EXAMPLES / "hello", tmp_path / "apps")
    deployed = subprocess.run(
        [*overcast_argv(), "deploy", str(app), "--stage", "dev",
         "--target", f"https://localhost:{platform.admin_port}", "--state-dir", str(state)],
        capture_output=True,
        timeout=180,
        check=False,
        env={**os.environ, "SSL_CERT_FILE": str(pki.ca)},
    )  # fmt: skip
    assert deployed.returncode == 0, deployed.stderr.decode() + platform.output()
    hello = httpx.get(
        f"https://127.0.0.1:{platform.port}/hello/world",
        headers={"Host": f"dev.{PLATFORM_DOMAIN}"},
        verify=pki.context(),
        timeout=30,
    )
    assert hello.status_code == 200


def test_a_key_that_does_not_match_its_certificate_fails_the_start(
    tmp_path: Path, pki: Pki
) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    wrong = tmp_path / "other.key"
    wrong.write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    argv = [
        *overcast_argv(), "serve", "--state-dir", str(tmp_path / "state"),
        "--port", str(free_port()), "--admin-port", str(free_port()),
        "--tls-cert", str(pki.cert), "--tls-key", str(wrong),
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "cannot serve TLS" in done.stderr.decode()


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_the_data_port_behind_nginx_terminating_tls(
    running_app: Any, tmp_path: Path, pki: Pki
) -> None:
    """The README's nginx recipe: TLS at nginx, plain HTTP to the data port on loopback."""
    app = running_app(EXAMPLES / "hello")
    listen = free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            prefix=tmp_path, listen=listen, cert=pki.cert, key=pki.key, upstream=app.port
        )
    )
    nginx = shutil.which("nginx")
    assert nginx is not None
    said = tmp_path / "nginx.out"
    with said.open("wb") as out:
        proc = subprocess.Popen(
            [nginx, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        reply = None
        while time.monotonic() < deadline and reply is None:
            if proc.poll() is not None:
                pytest.skip(f"nginx would not start here: {said.read_text()!r}")
            try:
                reply = httpx.get(
                    f"https://localhost:{listen}/hello/world", verify=pki.context(), timeout=5
                )
            except httpx.TransportError:
                time.sleep(0.1)
        assert reply is not None
        assert reply.status_code == 200
        assert "world" in reply.text
    finally:
        proc.terminate()
        proc.wait(timeout=10)


#: the README's recipe, with a prefix and ports of the test's own
NGINX_CONF = """
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{listen} ssl;
        server_name localhost;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        client_header_timeout 10s;
        client_body_timeout 60s;
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header Connection "";
        }}
    }}
}}
"""
