"""The FastAPI monolith is the same core behind another adapter: same answers."""

from __future__ import annotations

import asyncio
import sys

import httpx

from .conftest import AUTH_SRC, MakeService
from .helpers import PASSWORD

if str(AUTH_SRC.parent) not in sys.path:
    sys.path.insert(0, str(AUTH_SRC.parent))

from monolith.app import create_app


async def _flow(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/auth/register", json={"email": "m@example.com", "password": PASSWORD}
    )
    assert created.status_code == 201
    tokens = await client.post("/auth/login", json={"email": "m@example.com", "password": PASSWORD})
    assert tokens.status_code == 200
    assert tokens.headers["cache-control"] == "no-store"
    access = tokens.json()["access_token"]
    me = await client.get("/auth/me", headers={"Authorization": f"Bearer {access}"})
    assert me.json()["email"] == "m@example.com"
    refresh = tokens.json()["refresh_token"]
    rotated = await client.post("/auth/refresh", json={"refresh_token": refresh})
    assert rotated.status_code == 200
    bad = await client.post("/auth/login", content=b"{nope")
    assert (bad.status_code, bad.json()["field"]) == (400, "body")
    out = await client.post("/auth/logout", json={"refresh_token": rotated.json()["refresh_token"]})
    assert (out.status_code, out.content) == (204, b"")


def test_monolith_serves_the_flow_with_the_cores_answers(make_service: MakeService) -> None:
    transport = httpx.ASGITransport(app=create_app(make_service()))

    async def run() -> None:
        async with httpx.AsyncClient(transport=transport, base_url="http://monolith") as client:
            await _flow(client)

    asyncio.run(run())
