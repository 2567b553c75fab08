"""A stage routes each request to one of its stacks: by host label, then by base path."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from overcast.control.deploy_store import SUCCEEDED, Deployment
from overcast.control.stage import STACK_HOST, LiveDeployment, Stage


def _live(stack: str, base_path: str = "") -> LiveDeployment:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = f"{stack} {scope['path']} {scope.get('root_path', '')}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    record = Deployment("d-" + stack.upper(), "dev", stack, 1, 0.0, SUCCEEDED, "deploy", b"", {})
    none: Any = None
    return LiveDeployment(
        record=record,
        model=none,
        runtime=none,
        router=none,
        gateway=none,
        app=app,
        base_path=base_path,
    )


def _get(stage: Stage, path: str, stack_host: str | None = None) -> tuple[int, str]:
    scope: dict[str, Any] = {"type": "http", "path": path, "raw_path": path.encode(), "headers": []}
    if stack_host is not None:
        scope[STACK_HOST] = stack_host
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(stage(scope, receive, send))
    return sent[0]["status"], sent[1]["body"].decode()


@pytest.fixture
def stage() -> Stage:
    stage = Stage("dev")
    stage.switch("site", _live("site"))
    stage.switch("auth", _live("auth", "auth"))
    stage.switch("notes", _live("notes", "notes"))
    return stage


def test_a_base_path_sends_the_rest_of_the_path_to_its_stack(stage: Stage) -> None:
    assert _get(stage, "/auth/login") == (200, "auth /login /auth")
    assert _get(stage, "/notes") == (200, "notes / /notes")


def test_the_stack_without_a_base_path_serves_the_rest(stage: Stage) -> None:
    assert _get(stage, "/index.html") == (200, "site /index.html ")
    assert _get(stage, "/authors") == (200, "site /authors ")  # a prefix, not a segment


def test_a_stack_host_reaches_its_stack_whole(stage: Stage) -> None:
    assert _get(stage, "/auth/login", stack_host="notes") == (200, "notes /auth/login ")
    status, body = _get(stage, "/", stack_host="nope")
    assert status == 404
    assert "no stack nope" in body


def test_without_a_root_stack_other_paths_are_not_found() -> None:
    stage = Stage("dev")
    stage.switch("auth", _live("auth", "auth"))
    assert _get(stage, "/elsewhere")[0] == 404
    assert _get(stage, "/auth/x") == (200, "auth /x /auth")


def test_an_empty_stage_says_it_has_no_deployment() -> None:
    status, body = _get(Stage("dev"), "/")
    assert status == 503
    assert "no deployment yet" in body


def test_switching_a_stack_out_leaves_the_others(stage: Stage) -> None:
    gone = stage.switch("auth", None)
    assert gone is not None
    assert gone.record.stack == "auth"
    assert _get(stage, "/auth/login") == (200, "site /auth/login ")
    assert stage.base_path_owner("notes", but="other") == "notes"
    assert stage.base_path_owner("notes", but="notes") is None
