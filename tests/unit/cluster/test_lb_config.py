"""The balancer configurations: what they promise, and that HAProxy and nginx accept them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from overcast.cli.main import cli
from overcast.cluster.lb_config import (
    LbConfigError,
    LbNode,
    LbSettings,
    parse_listen,
    parse_node,
    render,
)
from overcast.control.data_health import HEALTHZ_PATH

NODES = [
    LbNode("node-a", "127.0.0.1", 3000),
    LbNode("node-b", "[::1]", 3001),
    LbNode("node-c", "localhost", 3002, draining=True),
]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


def test_a_node_is_name_host_and_port() -> None:
    assert parse_node("a=10.0.0.5:3000") == LbNode("a", "10.0.0.5", 3000)
    assert parse_node("b=[fd00::5]:80") == LbNode("b", "[fd00::5]", 80)
    assert parse_node("node.c=web-3.internal:8080").address == "web-3.internal:8080"


@pytest.mark.parametrize(
    "spec",
    [
        "a",
        "a=host",
        "a=:3000",
        "a=host:0",
        "a=host:70000",
        "=host:1",
        "a b=h:1",
        "a=h;x:1",
        "a=h}:1",
        "a=h\n:1",
    ],
)
def test_a_node_that_could_break_the_file_is_refused(spec: str) -> None:
    with pytest.raises(LbConfigError):
        parse_node(spec)


def test_listen_takes_a_port_alone_or_with_a_host() -> None:
    assert parse_listen(":8080") == ("", 8080)
    assert parse_listen("8081") == ("", 8081)
    assert parse_listen("127.0.0.1:80") == ("127.0.0.1", 80)


def test_no_nodes_or_a_repeated_name_is_an_error() -> None:
    with pytest.raises(LbConfigError, match="no nodes"):
        render([], LbSettings(), "haproxy")
    with pytest.raises(LbConfigError, match="repeated: a"):
        render([LbNode("a", "h", 1), LbNode("a", "h", 2)], LbSettings(), "nginx")


def test_haproxy_checks_health_balances_leastconn_and_retries_only_idempotent_requests() -> None:
    lines = _lines(render(NODES, LbSettings(listen_port=9000), "haproxy"))
    assert "bind :9000" in lines
    assert "balance leastconn" in lines
    assert f"option httpchk GET {HEALTHZ_PATH}" in lines
    assert "http-check expect status 200" in lines
    assert "retry-on conn-failure empty-response response-timeout" in lines
    assert "retries 2" in lines
    assert "option redispatch 1" in lines
    disable = next(line for line in lines if line.startswith("http-request disable-l7-retry"))
    # Every method outside the idempotent set loses its retries once sent: POST, PATCH ...
    assert disable == (
        "http-request disable-l7-retry if !METH_GET !METH_HEAD !METH_OPTIONS !METH_TRACE "
        "!METH_PUT !METH_DELETE"
    )
    default_server = next(line for line in lines if line.startswith("default-server"))
    assert " check " in default_server
    assert "slowstart 10s" in default_server
    assert "server node-a 127.0.0.1:3000" in lines
    assert "server node-b [::1]:3001" in lines
    assert "server node-c localhost:3002 disabled" in lines


def test_nginx_fails_over_on_connect_errors_and_never_retries_what_it_sent_unless_idempotent() -> (
    None
):
    text = render(NODES, LbSettings(listen_host="127.0.0.1", listen_port=9000), "nginx")
    lines = _lines(text)
    assert "least_conn;" in lines
    assert "server 127.0.0.1:3000 max_fails=2 fail_timeout=10s;  # node-a" in lines
    assert "server localhost:3002 max_fails=2 fail_timeout=10s down;  # node-c" in lines
    assert "listen 127.0.0.1:9000;" in lines
    assert "proxy_next_upstream error timeout;" in lines
    assert "non_idempotent" not in text
    assert "proxy_next_upstream_tries 3;" in lines


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed (make lb)")
def test_haproxy_accepts_the_file(tmp_path: Path) -> None:
    path = tmp_path / "haproxy.cfg"
    path.write_text(render(NODES, LbSettings(), "haproxy"))
    checked = subprocess.run(
        ["haproxy", "-c", "-f", str(path)], capture_output=True, timeout=30, check=False
    )
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed (make proxy)")
def test_nginx_accepts_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nginx.conf"
    path.write_text(render(NODES, LbSettings(listen_host="127.0.0.1"), "nginx"))
    checked = subprocess.run(
        [
            "nginx",
            "-t",
            "-p",
            str(tmp_path),
            "-e",
            "stderr",
            "-c",
            str(path),
            "-g",
            f"pid {tmp_path}/nginx.pid;",
        ],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr.decode()


def test_the_cli_writes_the_file_from_repeated_nodes(tmp_path: Path) -> None:
    out = tmp_path / "haproxy.cfg"
    result = CliRunner().invoke(
        cli,
        [
            "cluster",
            "lb-config",
            "--format",
            "haproxy",
            "--node",
            "a=127.0.0.1:3000",
            "--node",
            "b=127.0.0.1:3001",
            "--listen",
            ":8088",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = _lines(out.read_text())
    assert "bind :8088" in lines
    assert "server a 127.0.0.1:3000" in lines
    assert "server b 127.0.0.1:3001" in lines


def test_the_cli_prints_nginx_and_names_a_bad_node() -> None:
    ok = CliRunner().invoke(cli, ["cluster", "lb-config", "--format", "nginx", "--node", "a=h:1"])
    assert ok.exit_code == 0
    assert "upstream overcast_nodes {" in ok.output
    bad = CliRunner().invoke(cli, ["cluster", "lb-config", "--node", "a=h"])
    assert bad.exit_code == 1
    assert "expected NAME=HOST:PORT" in bad.output
