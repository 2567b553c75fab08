"""notes: a second microservice behind the same gateway, guarded by its JWT authorizer.

It never sees a password or a signature: API Gateway validated the access token
before invoking it and passes the claims in
``requestContext.authorizer.jwt.claims`` (payload 2.0), and this handler trusts them,
as a function behind an HTTP API JWT authorizer does on AWS:
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html

Notes are its own data, kept in its own SQLite file (NOTES_DB_PATH, default under
AUTH_STATE_DIR or /tmp); the table is created at Init, not per request.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

logger = logging.getLogger("notes")

MAX_TEXT = 10_000


def _db_path() -> Path:
    explicit = os.environ.get("NOTES_DB_PATH", "").strip()
    if explicit:
        return Path(explicit).resolve()
    state = os.environ.get("AUTH_STATE_DIR", "").strip()
    folder = Path(state).resolve() if state else Path(tempfile.gettempdir()) / "auth-service"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.gettempdir()) / "auth-service"
        folder.mkdir(parents=True, exist_ok=True)
    return folder / "notes.sqlite3"


def _open() -> sqlite3.Connection:
    conn = sqlite3.connect(_db_path(), timeout=10.0, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY, owner TEXT NOT NULL,"
        " text TEXT NOT NULL, created_at REAL NOT NULL)"
    )
    conn.execute("CREATE INDEX IF NOT EXISTS notes_owner ON notes (owner, created_at)")
    return conn


# Init: one connection per instance, reused by every warm invocation.
DB = _open()


def _response(status: int, body: object | None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"} if body is not None else {},
        "body": json.dumps(body) if body is not None else "",
        "isBase64Encoded": False,
    }


def _caller(event: dict[str, Any]) -> str | None:
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    claims = (authorizer.get("jwt") or {}).get("claims") or {}
    sub = claims.get("sub")
    return sub if isinstance(sub, str) and sub else None


def _note(row: tuple[Any, ...]) -> dict[str, Any]:
    return {"id": row[0], "text": row[1], "created_at": row[2]}


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """GET/POST /notes, GET/DELETE /notes/{id} for the caller named by the token's sub."""
    owner = _caller(event)
    if owner is None:
        # Only reachable if the route lost its authorizer: fail closed.
        return _response(401, {"message": "Unauthorized"})
    route = event.get("routeKey", "")
    note_id = (event.get("pathParameters") or {}).get("id")
    if route == "GET /notes":
        rows = DB.execute(
            "SELECT id, text, created_at FROM notes WHERE owner = ? ORDER BY created_at",
            (owner,),
        ).fetchall()
        return _response(200, {"notes": [_note(row) for row in rows]})
    if route == "POST /notes":
        try:
            data = json.loads(event.get("body") or "")
        except ValueError:
            return _response(400, {"error": "invalid_request", "field": "body"})
        text = data.get("text") if isinstance(data, dict) else None
        if not isinstance(text, str) or not text or len(text) > MAX_TEXT:
            return _response(
                400,
                {
                    "error": "invalid_request",
                    "field": "text",
                    "message": f"text must be a string of 1 to {MAX_TEXT} characters",
                },
            )
        note = (uuid.uuid4().hex, text, time.time())
        DB.execute(
            "INSERT INTO notes (id, owner, text, created_at) VALUES (?, ?, ?, ?)",
            (note[0], owner, note[1], note[2]),
        )
        return _response(201, _note(note))
    if route in ("GET /notes/{id}", "DELETE /notes/{id}") and isinstance(note_id, str):
        row = DB.execute(
            "SELECT id, text, created_at FROM notes WHERE id = ? AND owner = ?", (note_id, owner)
        ).fetchone()
        if row is None:
            return _response(404, {"error": "not_found", "message": "no such note"})
        if route.startswith("DELETE"):
            DB.execute("DELETE FROM notes WHERE id = ? AND owner = ?", (note_id, owner))
            return _response(204, None)
        return _response(200, _note(row))
    return _response(404, {"error": "not_found", "message": "no such route"})
