import asyncio
from pathlib import Path

from overcast.runtime.log_pipe import MAX_LINE_BYTES, InstanceLog, InvocationLog, LogWriter
from overcast.runtime.log_store import LogStore, messages

from .helpers import run

STREAM = "2026/11/27/[$LATEST]" + "a" * 32
MARKER = b"\x00\x1eovercast-end-test\n"


def test_events_are_merged_across_streams_by_time(tmp_path: Path) -> None:
    store = LogStore(str(tmp_path))
    store.append("fn", STREAM, [(1, "a"), (3, "c")])
    store.append("fn", "2026/11/27/[$LATEST]" + "b" * 32, [(2, "b")])
    assert messages(store.read("fn")) == ["a", "b", "c"]
    assert messages(store.read("fn", since_ms=2)) == ["b", "c"]
    assert len(store.streams("fn")) == 2


def test_unknown_function_has_no_events(tmp_path: Path) -> None:
    assert list(LogStore(str(tmp_path)).read("nobody")) == []


def test_follow_yields_events_written_later(tmp_path: Path) -> None:
    store = LogStore(str(tmp_path))
    store.append("fn", STREAM, [(1, "old")])

    async def scenario() -> list[str]:
        follower = store.follow("fn", poll_s=0.01)
        task = asyncio.ensure_future(follower.__anext__())
        await asyncio.sleep(0.05)
        store.append("fn", STREAM, [(2, "new")])
        event = await asyncio.wait_for(task, 5)
        await follower.aclose()
        return [event.message]

    assert run(scenario()) == ["new"]


class _Sink:
    """Drives an InstanceLog without a pipe."""

    def __init__(self, tmp_path: Path) -> None:
        self.store = LogStore(str(tmp_path))
        self.writer = LogWriter(self.store)
        self.log = InstanceLog(self.writer, "fn", STREAM, MARKER)

    def lines(self) -> list[str]:
        self.writer.flush()
        return messages(self.store.read("fn"))


def test_output_is_attributed_between_start_and_end(tmp_path: Path) -> None:
    async def scenario() -> list[str]:
        sink = _Sink(tmp_path)
        sink.log.data_received(b"init line\n" + MARKER)
        record = InvocationLog("r1", "$LATEST", want_tail=True)
        sink.log.begin(record)
        sink.log.data_received(b"hel")
        sink.log.data_received(b"lo\nwor")
        sink.log.complete(record, ["END RequestId: r1", "REPORT RequestId: r1"])
        sink.log.data_received(b"ld" + MARKER)
        assert b"hello\nworld\nEND RequestId: r1" in record.tail_bytes()
        return sink.lines()

    assert run(scenario()) == [
        "init line",
        "START RequestId: r1 Version: $LATEST",
        "hello",
        "world",
        "END RequestId: r1",
        "REPORT RequestId: r1",
    ]


def test_start_waits_for_the_init_output(tmp_path: Path) -> None:
    async def scenario() -> list[str]:
        sink = _Sink(tmp_path)
        record = InvocationLog("r1", "$LATEST", want_tail=False)
        sink.log.begin(record)
        sink.log.data_received(b"printed at import\n" + MARKER + b"in handler\n")
        sink.log.complete(record, ["END RequestId: r1"])
        sink.log.data_received(MARKER)
        return sink.lines()

    assert run(scenario()) == [
        "printed at import",
        "START RequestId: r1 Version: $LATEST",
        "in handler",
        "END RequestId: r1",
    ]


def test_end_is_written_at_eof_when_the_worker_died(tmp_path: Path) -> None:
    async def scenario() -> list[str]:
        sink = _Sink(tmp_path)
        sink.log.data_received(MARKER)
        record = InvocationLog("r1", "$LATEST", want_tail=False)
        sink.log.begin(record)
        sink.log.data_received(b"last words")
        sink.log.complete(record, ["END RequestId: r1", "died"])
        sink.log.connection_lost(None)
        return sink.lines()

    assert run(scenario()) == [
        "START RequestId: r1 Version: $LATEST",
        "last words",
        "END RequestId: r1",
        "died",
    ]


def test_a_huge_line_is_cut_and_the_rest_discarded(tmp_path: Path) -> None:
    async def scenario() -> list[str]:
        sink = _Sink(tmp_path)
        chunk = b"x" * 65536
        for _ in range(20):
            sink.log.data_received(chunk)
        sink.log.data_received(b"tail\nnext\n")
        return sink.lines()

    lines = run(scenario())
    assert len(lines) == 2
    assert lines[0].startswith("x" * MAX_LINE_BYTES)
    assert "truncated" in lines[0]
    assert lines[1] == "next"


def test_end_of_output_closes_the_invocation_without_a_marker(tmp_path: Path) -> None:
    async def scenario() -> tuple[list[str], bytes]:
        sink = _Sink(tmp_path)
        sink.log.data_received(MARKER)
        record = InvocationLog("r1", "$LATEST", want_tail=True)
        sink.log.begin(record)
        sink.log.data_received(b"whole line\nno newline")
        sink.log.end_of_output()
        sink.log.complete(record, ["END RequestId: r1", "REPORT RequestId: r1"])
        second = InvocationLog("r2", "$LATEST", want_tail=False)
        sink.log.begin(second)
        sink.log.data_received(b"second\n" + MARKER)
        sink.log.complete(second, ["END RequestId: r2"])
        return sink.lines(), record.tail_bytes()

    lines, tail = run(scenario())
    assert lines == [
        "START RequestId: r1 Version: $LATEST",
        "whole line",
        "no newline",
        "END RequestId: r1",
        "REPORT RequestId: r1",
        "START RequestId: r2 Version: $LATEST",
        "second",
        "END RequestId: r2",
    ]
    assert tail.endswith(b"no newline\nEND RequestId: r1\nREPORT RequestId: r1\n")


def test_a_marker_right_after_a_cut_line_still_ends_the_invocation(tmp_path: Path) -> None:
    async def scenario() -> list[str]:
        sink = _Sink(tmp_path)
        sink.log.data_received(MARKER)
        record = InvocationLog("r1", "$LATEST", want_tail=False)
        sink.log.begin(record)
        sink.log.data_received(b"y" * (MAX_LINE_BYTES + 10))
        sink.log.data_received(b"rest of the long line" + MARKER)
        sink.log.complete(record, ["END RequestId: r1"])
        return sink.lines()

    lines = run(scenario())
    assert [line[:5] for line in lines] == ["START", "yyyyy", "END R"]
