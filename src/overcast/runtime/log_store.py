"""Function logs on disk, one file per log stream, like CloudWatch Logs' groups and streams.

Layout: ``<state_dir>/logs/<function>/<stream name>.jsonl`` where the stream name is
Lambda's ``2026/11/27/[$LATEST]<32 hex>`` (so its slashes are directories). Each line
is one event, ``{"t": <epoch ms>, "m": "<message>"}``. Writes are appends of whole
batches; readers merge the streams by timestamp.
"""

from __future__ import annotations

import asyncio
import glob
import heapq
import os
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass

import orjson

_SUFFIX = ".jsonl"


@dataclass(frozen=True, slots=True)
class LogEvent:
    timestamp_ms: int
    stream: str
    message: str


class LogStore:
    """Append and read function logs under ``<state_dir>/logs``."""

    def __init__(self, state_dir: str) -> None:
        self.root = os.path.join(state_dir, "logs")

    def _function_dir(self, function: str) -> str:
        if not function or "/" in function or function in (".", ".."):
            raise ValueError(f"invalid function name for logs: {function!r}")
        return os.path.join(self.root, function)

    def stream_path(self, function: str, stream: str) -> str:
        parts = stream.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"invalid log stream name: {stream!r}")
        return os.path.join(self._function_dir(function), *parts) + _SUFFIX

    def append(self, function: str, stream: str, events: Sequence[tuple[int, str]]) -> None:
        """Append ``(timestamp_ms, message)`` events to one stream in a single write."""
        if not events:
            return
        path = self.stream_path(function, stream)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
        data = b"".join([dumps({"t": t, "m": m}, option=newline) for t, m in events])
        with open(path, "ab") as handle:
            handle.write(data)

    def streams(self, function: str) -> list[str]:
        """Names of the function's log streams, oldest first by name."""
        base = self._function_dir(function)
        found = glob.glob(os.path.join(glob.escape(base), "*", "*", "*", "*" + _SUFFIX))
        return sorted(
            os.path.relpath(path, base)[: -len(_SUFFIX)].replace(os.sep, "/") for path in found
        )

    def _read_stream(self, function: str, stream: str, since_ms: int | None) -> Iterator[LogEvent]:
        try:
            handle = open(self.stream_path(function, stream), "rb")  # noqa: SIM115 - generator-held
        except FileNotFoundError:
            return
        with handle:
            for line in handle:
                event = _parse(line, stream)
                if event is not None and (since_ms is None or event.timestamp_ms >= since_ms):
                    yield event

    def read(self, function: str, since_ms: int | None = None) -> Iterator[LogEvent]:
        """Every event of ``function`` (from ``since_ms`` on), merged across streams by time."""
        streams = [self._read_stream(function, s, since_ms) for s in self.streams(function)]
        return heapq.merge(*streams, key=lambda event: event.timestamp_ms)

    async def follow(
        self, function: str, since_ms: int | None = None, poll_s: float = 0.25
    ) -> AsyncIterator[LogEvent]:
        """Events as they are written; starts at the end unless ``since_ms`` is given."""
        offsets: dict[str, int] = {}
        if since_ms is None:
            for stream in self.streams(function):
                with _suppress_missing():
                    offsets[stream] = os.path.getsize(self.stream_path(function, stream))
        while True:
            batch: list[LogEvent] = []
            for stream in self.streams(function):
                path = self.stream_path(function, stream)
                offset = offsets.get(stream, 0)
                try:
                    size = os.path.getsize(path)
                except FileNotFoundError:
                    continue
                if size <= offset:
                    continue
                with open(path, "rb") as handle:
                    handle.seek(offset)
                    data = handle.read(size - offset)
                complete = data.rfind(b"\n") + 1
                offsets[stream] = offset + complete
                for line in data[:complete].splitlines():
                    event = _parse(line, stream)
                    if event is not None and (since_ms is None or event.timestamp_ms >= since_ms):
                        batch.append(event)
            batch.sort(key=lambda event: event.timestamp_ms)
            for event in batch:
                yield event
            await asyncio.sleep(poll_s)


def _parse(line: bytes, stream: str) -> LogEvent | None:
    try:
        record = orjson.loads(line)
        return LogEvent(int(record["t"]), stream, str(record["m"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


class _suppress_missing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: object, tb: object) -> bool:
        return isinstance(exc, FileNotFoundError)


def messages(events: Iterable[LogEvent]) -> list[str]:
    """Just the messages, for tests and the CLI."""
    return [event.message for event in events]
