"""A todo API on a REST API, written with Powertools' APIGatewayRestResolver."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError
from aws_lambda_powertools.utilities.typing import LambdaContext

app = APIGatewayRestResolver()

TODOS: dict[str, dict[str, Any]] = {
    "1": {"id": "1", "title": "write the template", "completed": True},
    "2": {"id": "2", "title": "run it on overcast", "completed": False},
}


@app.get("/todos")
def list_todos() -> dict[str, Any]:
    completed = app.current_event.get_query_string_value("completed")
    todos = list(TODOS.values())
    if completed is not None:
        todos = [t for t in todos if t["completed"] == (completed == "true")]
    return {"todos": todos}


@app.get("/todos/<todo_id>")
def get_todo(todo_id: str) -> dict[str, Any]:
    todo = TODOS.get(todo_id)
    if todo is None:
        raise NotFoundError(f"todo {todo_id} not found")
    return todo


@app.post("/todos")
def create_todo() -> Response[dict[str, Any]]:
    body = app.current_event.json_body
    if not isinstance(body, dict) or not isinstance(body.get("title"), str):
        raise BadRequestError("a todo needs a title")
    todo = {"id": str(len(TODOS) + 1), "title": body["title"], "completed": False}
    return Response(
        status_code=201,
        content_type=content_types.APPLICATION_JSON,
        body=todo,
        headers={"Location": f"/todos/{todo['id']}"},
    )


# API Gateway's greedy {proxy+} hands the rest of the path over as pathParameters.proxy;
# Powertools matches it with a regular expression route.
@app.get("/files/.+")
def get_file() -> dict[str, Any]:
    event = app.current_event
    return {"proxy": event.path_parameters["proxy"], "resource": event.resource}


@app.get("/whoami")
def whoami() -> dict[str, Any]:
    event = app.current_event
    return {
        "pid": os.getpid(),
        "function_name": app.lambda_context.function_name,
        "method": event.http_method,
        "path": event.path,
        "resource": event.resource,
        "stage": event.request_context.stage,
        "context_path": event.request_context.path,
        "tags": event.multi_value_query_string_parameters.get("tag"),
    }


@app.get("/crash")
def crash() -> dict[str, Any]:
    raise RuntimeError("unhandled on purpose")


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
