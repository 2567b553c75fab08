import pytest

from overcast.edge import HostTable

TABLE = HostTable.build(
    ["dev", "qa", "prod"], domain="example.test", custom={"App.Example.COM": "qa"}
)


@pytest.mark.parametrize(
    ("host", "stage"),
    [
        ("dev.example.test", "dev"),
        ("qa.example.test", "qa"),
        ("example.test", "prod"),
        ("www.example.test", "prod"),
        ("prod.example.test", "prod"),
        ("DEV.Example.Test:8080", "dev"),
        ("example.test.", "prod"),
        ("app.example.com", "qa"),
        ("app.example.com:443", "qa"),
    ],
)
def test_host_picks_stage(host: str, stage: str) -> None:
    assert TABLE.stage_for(host) == stage


@pytest.mark.parametrize(
    "host",
    ["staging.example.test", "evil.test", "dev.example.test.evil.test", "", None, "[::1]:80"],
)
def test_unknown_host_has_no_stage(host: str | None) -> None:
    assert TABLE.stage_for(host) is None


def test_apex_is_prod_only_when_prod_exists() -> None:
    table = HostTable.build(["dev"], domain="example.test")
    assert table.stage_for("example.test") is None
    assert table.stage_for("dev.example.test") == "dev"
