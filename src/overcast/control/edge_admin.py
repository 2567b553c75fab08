"""The admin port's invalidation endpoint: CloudFront's CreateInvalidation, loosely.

``POST /2020-05-31/distribution/<stage>/invalidation`` with a JSON body shaped like
boto3's ``InvalidationBatch`` parameter::

    {"Paths": {"Quantity": 2, "Items": ["/index.html", "/assets/*"]},
     "CallerReference": "any string"}

(``Paths`` may also be a plain list). The purge is synchronous, so the answer is
201 with ``Status: Completed`` straight away.
https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateInvalidation.html
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Protocol

import orjson

from overcast.control.access import Denied
from overcast.control.asgi_types import Send, send_response
from overcast.edge import EdgeApp, InvalidationPathError

ACTION = "cloudfront:CreateInvalidation"
_PATH = re.compile(r"^/2020-05-31/distribution/([^/]+)/invalidation$")
MAX_PATHS = 3000  # CloudFront's limit on paths in flight per distribution


@dataclass(frozen=True, slots=True)
class Invalidated:
    """What one invalidation did: its id, the paths and how many entries it dropped."""

    id: str
    stage: str
    paths: tuple[str, ...]
    caller_reference: str
    purged: int


class Purger(Protocol):
    """What invalidation needs of an edge: its stages, and a purge by path."""

    def stage_names(self) -> Collection[str]: ...

    def invalidate(self, paths: list[str], *, stage: str | None = None) -> int: ...


class EdgePurger:
    """One :class:`EdgeApp` (``overcast up``) as a :class:`Purger`."""

    def __init__(self, edge: EdgeApp) -> None:
        self.edge = edge

    def stage_names(self) -> Collection[str]:
        return self.edge.config.stages.keys()

    def invalidate(self, paths: list[str], *, stage: str | None = None) -> int:
        return self.edge.invalidate(paths, stage=stage)


class EdgeAdmin:
    """Routes admin-port invalidation requests to an edge's cache."""

    def __init__(self, edge: Purger, account_id: str, clock: Callable[[], float] = time.time):
        self.edge = edge
        self._account_id = account_id
        self._clock = clock

    @staticmethod
    def handles(path: str) -> bool:
        """Whether ``path`` is an invalidation request."""
        return _PATH.match(path) is not None

    def resource(self, path: str) -> str:
        """The distribution ARN a request on ``path`` acts on (for authorization)."""
        match = _PATH.match(path)
        stage = match.group(1) if match else ""
        return f"arn:aws:cloudfront::{self._account_id}:distribution/{stage}"

    async def handle(self, method: str, path: str, body: bytes, send: Send) -> None:
        """Serve one authorized invalidation request."""
        match = _PATH.match(path)
        if match is None or method != "POST":
            await Denied(405, "MethodNotAllowed", "use POST").send(send)
            return
        stage = match.group(1)
        if stage not in self.edge.stage_names():
            await Denied(
                404,
                "NoSuchDistribution",
                f"The specified distribution does not exist: no stage {stage!r} "
                f"(stages: {', '.join(sorted(self.edge.stage_names()))})",
                message_field="Message",
            ).send(send)
            return
        parsed = parse_batch(body)
        if isinstance(parsed, Denied):
            await parsed.send(send)
            return
        paths, reference = parsed
        try:
            purged = self.edge.invalidate(list(paths), stage=stage)
        except InvalidationPathError as exc:
            await Denied(400, "InvalidArgument", exc.message, message_field="Message").send(send)
            return
        done = Invalidated(uuid.uuid4().hex[:14].upper(), stage, paths, reference, purged)
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._clock()))
        answer = {
            "Invalidation": {
                "Id": done.id,
                "Status": "Completed",
                "CreateTime": created,
                "InvalidationBatch": {
                    "Paths": {"Quantity": len(paths), "Items": list(paths)},
                    "CallerReference": reference,
                },
            },
            "PurgedEntries": purged,
        }
        await send_response(
            send,
            201,
            orjson.dumps(answer),
            [
                (b"content-type", b"application/json"),
                (b"location", f"{path}/{done.id}".encode()),
            ],
        )


def parse_batch(body: bytes) -> tuple[tuple[str, ...], str] | Denied:
    """The paths and caller reference of a JSON invalidation batch, or why it is refused."""
    try:
        raw = orjson.loads(body or b"null")
    except orjson.JSONDecodeError:
        return _bad('the body must be JSON: {"Paths": {"Items": ["/index.html"]}}')
    if not isinstance(raw, dict):
        return _bad("the body must be a JSON object with Paths")
    batch = raw.get("InvalidationBatch", raw)
    paths_raw = batch.get("Paths") if isinstance(batch, dict) else None
    items = paths_raw.get("Items") if isinstance(paths_raw, dict) else paths_raw
    if not isinstance(items, list) or not items or not all(isinstance(p, str) for p in items):
        return _bad("Paths must hold a non-empty list of path strings")
    if len(items) > MAX_PATHS:
        return _bad(f"at most {MAX_PATHS} paths per invalidation")
    reference = batch.get("CallerReference") if isinstance(batch, dict) else None
    if reference is None:
        reference = str(uuid.uuid4())
    if not isinstance(reference, str):
        return _bad("CallerReference must be a string")
    return tuple(items), reference


def _bad(message: str) -> Denied:
    return Denied(400, "InvalidArgument", message, message_field="Message")
