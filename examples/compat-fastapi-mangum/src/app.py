"""A FastAPI app served on Lambda through Mangum."""

from __future__ import annotations

import os
from typing import Annotated

from fastapi import Cookie, FastAPI, HTTPException, Query, Response
from mangum import Mangum
from pydantic import BaseModel

app = FastAPI(title="compat-fastapi-mangum")

ITEMS: dict[int, dict[str, object]] = {
    1: {"id": 1, "name": "hammer", "price": 9.5},
    2: {"id": 2, "name": "nails", "price": 2.25},
}


class NewItem(BaseModel):
    name: str
    price: float
    tags: list[str] = []


@app.get("/")
def root() -> dict[str, object]:
    return {"greeting": os.environ.get("GREETING", ""), "pid": os.getpid()}


@app.get("/items/{item_id}")
def get_item(item_id: int) -> dict[str, object]:
    item = ITEMS.get(item_id)
    if item is None:
        raise HTTPException(status_code=404, detail=f"item {item_id} not found")
    return item


@app.get("/search")
def search(
    q: str, limit: int = 10, tag: Annotated[list[str] | None, Query()] = None
) -> dict[str, object]:
    hits = [i for i in ITEMS.values() if q in str(i["name"])][:limit]
    return {"q": q, "limit": limit, "tags": tag or [], "hits": hits}


@app.post("/items", status_code=201)
def create_item(item: NewItem, response: Response) -> dict[str, object]:
    new_id = max(ITEMS) + 1
    response.headers["X-Item-Id"] = str(new_id)
    return {"id": new_id, **item.model_dump()}


@app.get("/headers")
def custom_headers(response: Response) -> dict[str, str]:
    response.headers["X-Powered-By"] = "fastapi+mangum"
    response.headers["Cache-Control"] = "no-store"
    return {"ok": "yes"}


@app.post("/login")
def login(response: Response) -> dict[str, str]:
    response.set_cookie("session", "abc123", httponly=True)
    response.set_cookie("theme", "dark")
    return {"logged_in": "yes"}


@app.get("/me")
def me(
    session: Annotated[str | None, Cookie()] = None,
    theme: Annotated[str | None, Cookie()] = None,
) -> dict[str, object]:
    return {"session": session, "theme": theme}


handler = Mangum(app, lifespan="off")
