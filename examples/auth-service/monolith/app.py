"""The auth service as one FastAPI app on uvicorn: the "before" of the migration.

A thin adapter over the same :mod:`authcore` as the Lambda handlers, for the monolith
comparison benchmark (benchmarks/bench_auth_vs_monolith.py). Settings come from the
same environment variables; the schema is created beforehand with
``python -m authcore.migrate``. Run:

    PYTHONPATH=examples/auth-service/src uvicorn --factory monolith.app:create_app \
        --app-dir examples/auth-service
"""

from __future__ import annotations

import json
from collections.abc import Callable

from authcore import AuthService, Result, build_service
from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool


def _response(result: Result) -> Response:
    if result.body is None:
        return Response(status_code=result.status, headers=dict(result.headers))
    return Response(
        content=json.dumps(result.body, separators=(",", ":")),
        status_code=result.status,
        headers=dict(result.headers),
        media_type="application/json",
    )


def create_app(service: AuthService | None = None) -> FastAPI:
    """The FastAPI app over ``service`` (default: one built from the environment)."""
    core = service or build_service()
    app = FastAPI(title="auth-service monolith", docs_url=None, redoc_url=None)

    async def call(operation: Callable[[], Result]) -> Response:
        # Argon2 and the database are blocking: keep them off the event loop.
        return _response(await run_in_threadpool(operation))

    @app.post("/auth/register")
    async def register(request: Request) -> Response:
        body = await request.body()
        return await call(lambda: core.register(body))

    @app.post("/auth/login")
    async def login(request: Request) -> Response:
        body = await request.body()
        ip = request.client.host if request.client else None
        return await call(lambda: core.login(body, ip))

    @app.post("/auth/refresh")
    async def refresh(request: Request) -> Response:
        body = await request.body()
        return await call(lambda: core.refresh(body))

    @app.post("/auth/logout")
    async def logout(request: Request) -> Response:
        body = await request.body()
        return await call(lambda: core.logout(body))

    @app.get("/auth/me")
    async def me(request: Request) -> Response:
        authorization = request.headers.get("authorization")
        return await call(lambda: core.me(authorization))

    @app.post("/auth/password")
    async def password(request: Request) -> Response:
        body = await request.body()
        authorization = request.headers.get("authorization")
        return await call(lambda: core.change_password(authorization, body))

    @app.post("/auth/password/forgot")
    async def forgot_password(request: Request) -> Response:
        body = await request.body()
        return await call(lambda: core.forgot_password(body))

    @app.post("/auth/password/reset")
    async def reset_password(request: Request) -> Response:
        body = await request.body()
        return await call(lambda: core.reset_password(body))

    @app.api_route("/auth/verify", methods=["GET", "POST"])
    async def verify(request: Request) -> Response:
        token = request.query_params.get("token")
        return await call(lambda: core.verify_email(token))

    @app.get("/auth/.well-known/jwks.json")
    async def jwks() -> Response:
        return await call(core.jwks)

    @app.get("/auth/.well-known/openid-configuration")
    async def openid_configuration() -> Response:
        return await call(core.openid_configuration)

    @app.get("/auth/health")
    async def health() -> Response:
        return await call(core.health)

    return app
