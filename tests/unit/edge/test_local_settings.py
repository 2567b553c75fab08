"""``static_dir`` / ``local_stage`` in the edge config, and ``EdgeApp``'s extra hosts."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from overcast.edge import DictBucket, EdgeApp, EdgeConfigError, StageOrigins, parse_edge_config


def test_static_dir_is_shared_unless_a_stage_sets_its_own() -> None:
    config = parse_edge_config(
        {"static_dir": "public", "stages": {"dev": {}, "prod": {"static_dir": "dist"}}}
    )
    assert config.stages["dev"].static_dir == "public"
    assert config.stages["prod"].static_dir == "dist"


def test_static_dir_defaults_to_none() -> None:
    assert parse_edge_config({"stages": {"dev": {}}}).stages["dev"].static_dir is None


def test_static_dir_must_be_a_folder_name() -> None:
    with pytest.raises(EdgeConfigError, match=r"stages\.dev\.static_dir"):
        parse_edge_config({"stages": {"dev": {"static_dir": ""}}})


def test_loopback_stage_is_the_first_stage_unless_local_stage_names_one() -> None:
    assert parse_edge_config({"stages": {"qa": {}, "dev": {}}}).loopback_stage == "qa"
    config = parse_edge_config({"local_stage": "dev", "stages": {"qa": {}, "dev": {}}})
    assert config.loopback_stage == "dev"


def test_local_stage_must_be_configured() -> None:
    with pytest.raises(EdgeConfigError, match="local_stage"):
        parse_edge_config({"local_stage": "prod", "stages": {"dev": {}}})


def _status(app: EdgeApp, host: str) -> int:
    async def go() -> int:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
            return (await client.get("/index.html", headers={"Host": host})).status_code

    return asyncio.run(go())


def _edge(extra: dict[str, str]) -> EdgeApp:
    config = parse_edge_config(
        {
            "behaviors": [{"path_pattern": "*", "origin": "static"}],
            "stages": {"dev": {"domains": ["dev.myapp.com"]}, "prod": {}},
        }
    )
    bucket = DictBucket()
    bucket.put("index.html", b"<p>hi</p>", "text/html")
    origins = {name: StageOrigins(static=bucket) for name in ("dev", "prod")}
    return EdgeApp(config, origins, extra_hosts=extra)


def test_extra_hosts_reach_their_stage_and_other_hosts_stay_misdirected() -> None:
    app = _edge({"127.0.0.1": "dev", "localhost": "dev", "[::1]": "dev"})
    assert _status(app, "127.0.0.1:3000") == 200
    assert _status(app, "localhost") == 200
    assert _status(app, "[::1]:3000") == 200
    assert _status(app, "evil.example") == 421
    assert _status(app, "127.0.0.2") == 421


def test_without_extra_hosts_loopback_is_misdirected() -> None:
    assert _status(_edge({}), "127.0.0.1:3000") == 421


def test_extra_hosts_never_take_a_configured_domain_or_name_an_unknown_stage() -> None:
    app = _edge({"dev.myapp.com": "prod", "localhost": "staging"})
    assert app.hosts.stage_for("dev.myapp.com") == "dev"
    assert app.hosts.stage_for("localhost") is None
