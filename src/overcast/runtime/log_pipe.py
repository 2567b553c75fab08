"""Platform side of an instance's output: read its log pipe, attribute lines, batch to disk.

One invocation runs at a time per instance and the worker writes the instance's
secret end marker into the pipe after flushing each phase (Init, then each
invocation), so the pipe itself says where one invocation's output ends. START is
written when the previous phase's marker has been read; END and REPORT once both the
marker (or EOF, if the worker died) and the invocation's result are known.

When the pipe is already empty as an invocation ends (the platform has read every
byte the worker wrote; the worker asks the kernel, FIONREAD), the worker skips the
marker and says so in its ``Done`` frame: the platform then ends the output at
:meth:`InstanceLog.end_of_output`, saving a write and a wake-up per invocation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable

from overcast.runtime.log_format import start_line
from overcast.runtime.log_store import LogStore

logger = logging.getLogger("overcast.runtime")

#: CloudWatch Logs' maximum event size; longer lines are cut there.
#: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html
MAX_LINE_BYTES = 256 * 1024
#: LogType=Tail returns the last 4 KB of the invocation's log.
#: https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
TAIL_BYTES = 4096
_TRUNCATED = " [overcast: line truncated at 256 KB]"


class LogWriter:
    """Buffers events per stream and writes them in batches from one owned task."""

    def __init__(
        self,
        store: LogStore,
        flush_interval_s: float = 0.1,
        high_water_bytes: int = 8 * 1024 * 1024,
    ) -> None:
        self.store = store
        self.flush_interval_s = flush_interval_s
        self.high_water_bytes = high_water_bytes
        self._buffers: dict[tuple[str, str], list[tuple[int, str]]] = {}
        self._pending_bytes = 0
        self._paused: list[Callable[[], None]] = []
        self._wake = asyncio.Event()

    def add(self, function: str, stream: str, timestamp_ms: int, message: str) -> None:
        self.add_to((function, stream), timestamp_ms, message)

    def add_to(self, key: tuple[str, str], timestamp_ms: int, message: str) -> None:
        """:meth:`add` with the ``(function, stream)`` key built once by the caller."""
        buffer = self._buffers.get(key)
        if buffer is None:
            buffer = self._buffers[key] = []
        buffer.append((timestamp_ms, message))
        self._pending_bytes += len(message) + 32
        if self._pending_bytes > self.high_water_bytes:
            self._wake.set()

    @property
    def over_high_water(self) -> bool:
        return self._pending_bytes > self.high_water_bytes

    def on_drained(self, resume: Callable[[], None]) -> None:
        """Call ``resume`` after the next flush (a paused pipe reader)."""
        self._paused.append(resume)
        self._wake.set()

    def flush(self) -> None:
        buffers, self._buffers = self._buffers, {}
        self._pending_bytes = 0
        for (function, stream), events in buffers.items():
            try:
                self.store.append(function, stream, events)
            except OSError:
                logger.exception("could not write logs of %s", function)
        paused, self._paused = self._paused, []
        for resume in paused:
            resume()

    async def run(self) -> None:
        """Flush every ``flush_interval_s`` (or at once above the high-water mark)."""
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.flush_interval_s)
                self._wake.clear()
                self.flush()
        finally:
            self.flush()


class InvocationLog:
    """The log of one invocation as it is being assembled."""

    __slots__ = (
        "closing_lines",
        "finished",
        "marker_seen",
        "request_id",
        "tail",
        "tail_size",
        "version",
        "want_tail",
    )

    def __init__(self, request_id: str, version: str, want_tail: bool) -> None:
        self.request_id = request_id
        self.version = version
        self.want_tail = want_tail
        self.tail: deque[str] = deque()
        self.tail_size = 0
        self.marker_seen = False
        self.closing_lines: list[str] | None = None
        self.finished: asyncio.Future[None] | None = None

    def keep(self, message: str) -> None:
        if not self.want_tail:
            return
        self.tail.append(message)
        self.tail_size += len(message) + 1
        while self.tail_size > TAIL_BYTES * 2 and len(self.tail) > 1:
            self.tail_size -= len(self.tail.popleft()) + 1

    def tail_bytes(self) -> bytes:
        data = ("\n".join(self.tail) + "\n").encode("utf-8", "replace")
        return data[-TAIL_BYTES:]


class InstanceLog(asyncio.Protocol):
    """Reads one instance's stdout/stderr pipe (an asyncio read-pipe protocol)."""

    def __init__(
        self,
        writer: LogWriter,
        function: str,
        stream: str,
        marker: bytes,
        redact: Callable[[str], str] | None = None,
    ) -> None:
        self.writer = writer
        self._redact = redact
        self.function = function
        self.stream = stream
        self._key = (function, stream)
        self.marker = marker.rstrip(b"\n")
        self.records: deque[InvocationLog] = deque()
        self.init_done = False
        self.eof = False
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._partial = bytearray()
        self._discarding = False
        self._transport: asyncio.ReadTransport | None = None
        self._paused = False

    # --- asyncio.Protocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        lines = data.split(b"\n")
        last = lines.pop()
        if lines:
            first = lines[0]
            if self._partial:
                if not self._discarding:
                    self._partial += first
                    first = bytes(self._partial)
                else:
                    first = b""
                self._partial.clear()
                was_discarding, self._discarding = self._discarding, False
                if not was_discarding:
                    self._line(first)
            elif self._discarding:
                self._discarding = False
                if first.endswith(self.marker):
                    self._on_marker()  # the phase ended on the over-long line
            else:
                self._line(first)
            for line in lines[1:]:
                self._line(line)
        if last and not self._discarding:
            self._partial += last
            if len(self._partial) > MAX_LINE_BYTES:
                self._emit(bytes(self._partial[:MAX_LINE_BYTES]), truncated=True)
                self._partial.clear()
                self._discarding = True
        if self.writer.over_high_water and not self._paused and self._transport is not None:
            self._paused = True
            self._transport.pause_reading()
            self.writer.on_drained(self._resume)

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._partial and not self._discarding:
            self._line(bytes(self._partial))
        self._partial.clear()
        self.eof = True
        self.init_done = True
        if self.records and not self.records[0].marker_seen and self._start_pending:
            self._write_start(self.records[0])
        for record in list(self.records):
            self._maybe_finish(record)
        if not self.closed.done():
            self.closed.set_result(None)

    def _resume(self) -> None:
        self._paused = False
        if self._transport is not None and not self._transport.is_closing():
            self._transport.resume_reading()

    # --- attribution ---------------------------------------------------------------

    _start_pending = False

    def _line(self, line: bytes) -> None:
        if line.endswith(self.marker):
            prefix = line[: -len(self.marker)]
            if prefix:
                self._emit(prefix)
            self._on_marker()
        else:
            self._emit(line)

    def _emit(self, raw: bytes, *, truncated: bool = False) -> None:
        message = raw.decode("utf-8", "replace")
        if "\r" in message:
            # The runtime joins a multi-line error with CR to keep it one event.
            message = message.replace("\r", "\n")
        if self._redact is not None:
            message = self._redact(message)
        if truncated:
            message += _TRUNCATED
        self.write(message)

    def write(self, message: str) -> None:
        """One log event in this instance's stream, attributed to the current invocation."""
        self.writer.add_to(self._key, int(time.time() * 1000), message)
        if self.records and not self._start_pending:
            self.records[0].keep(message)

    def end_of_output(self) -> None:
        """The worker found the pipe drained at the end of its invocation (no marker).

        Every byte of that invocation is already here, so a last line without its
        newline is complete, and the output ends as if the marker had been read.
        """
        if self._partial:
            if not self._discarding:
                self._line(bytes(self._partial))
            self._partial.clear()
        self._discarding = False
        self._on_marker()

    def _on_marker(self) -> None:
        if not self.init_done:
            self.init_done = True
            if self.records and self._start_pending:
                self._write_start(self.records[0])
            return
        if not self.records:
            return
        head = self.records[0]
        head.marker_seen = True
        self._maybe_finish(head)

    def _write_start(self, record: InvocationLog) -> None:
        self._start_pending = False
        self.write(start_line(record.request_id, record.version))

    def begin(self, record: InvocationLog) -> None:
        """An invocation starts; START is written once earlier output is accounted for."""
        self.records.append(record)
        if len(self.records) == 1:
            if self.init_done:
                self._write_start(record)
            else:
                self._start_pending = True

    def complete(self, record: InvocationLog, closing_lines: list[str]) -> None:
        """The result is known: END/REPORT (and any error line) follow the output."""
        record.closing_lines = closing_lines
        self._maybe_finish(record)

    def _maybe_finish(self, record: InvocationLog) -> None:
        if record.closing_lines is None or not (record.marker_seen or self.eof):
            return
        if not self.records or self.records[0] is not record:
            return
        if self._start_pending:
            self._write_start(record)
        now_ms = int(time.time() * 1000)
        add, key = self.writer.add_to, self._key
        for line in record.closing_lines:
            add(key, now_ms, line)
            record.keep(line)
        self.records.popleft()
        if record.finished is not None and not record.finished.done():
            record.finished.set_result(None)
        if self.records:
            self._write_start(self.records[0])
            self._maybe_finish(self.records[0])
