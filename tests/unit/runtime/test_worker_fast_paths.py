"""The worker's per-invocation shortcuts give exactly what the plain way gives."""

import json
import math
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overcast.runtime.worker import _end_output, _load_event

from .helpers import call, run, started, write_code
from .helpers import function as fn_config

MARKER = b"\x00\x1eovercast-end-test\n"

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and repr(a) == repr(b)


@settings(max_examples=300)
@given(json_values, st.booleans())
def test_events_decode_as_json_loads_decodes_them(value: object, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert _same(_load_event(text), json.loads(text))


@pytest.mark.parametrize(
    "text",
    [
        b"NaN",
        b'{"a": Infinity}',
        b"1E400",
        b'"\\ud800"',
        b"123456789012345678901234567890",
        b"-9223372036854775809",
        b'{"a": 1, "a": 2}',
        b"\xef\xbb\xbf{}",
        '{"a": "b"}'.encode("utf-16"),
        b"[" * 2000 + b"]" * 2000,
        b"[1,]",
        b"",
    ],
)
def test_what_json_loads_accepts_or_refuses_stays_so(text: bytes) -> None:
    try:
        expected: object = json.loads(text)
    except (ValueError, RecursionError) as exc:
        with pytest.raises(type(exc), match="^" + __import__("re").escape(str(exc)) + "$"):
            _load_event(text)
        return
    assert _same(_load_event(text), expected)


def test_no_marker_when_the_platform_has_read_everything() -> None:
    read_end, write_end = os.pipe()
    try:
        assert _end_output(MARKER, write_end) is False
        os.write(write_end, b"unread output\n")
        assert _end_output(MARKER, write_end) is True
        assert os.read(read_end, 1024) == b"unread output\n" + MARKER
    finally:
        os.close(read_end)
        os.close(write_end)


def test_logs_stay_whole_with_and_without_pending_output(tmp_path: Path) -> None:
    code = write_code(
        tmp_path / "code",
        """
        import sys
        def handler(event, context):
            if event.get("loud"):
                sys.stdout.write("x" * 100000 + "\\n")
            if event.get("unterminated"):
                sys.stdout.write("no newline")
            return 1
    """,
    )

    async def scenario() -> tuple[list[str], list[str], list[bytes]]:
        async with started(tmp_path, [fn_config("f", code)]) as runtime:
            ids, tails = [], []
            for payload in (b"{}", b'{"loud": true}', b'{"unterminated": true}', b"{}"):
                result = await call(runtime, "f", payload, want_log_tail=True)
                ids.append(result.request_id)
                tails.append(result.log_tail)
            store = runtime.logs
        lines = [event.message for event in store.read("f")]
        return lines, ids, tails

    lines, ids, tails = run(scenario())
    kinds = [line[:5] if line[:5] in ("START", "END R", "REPOR") else line[:10] for line in lines]
    assert kinds == [
        *("START", "END R", "REPOR"),
        *("START", "x" * 10, "END R", "REPOR"),
        *("START", "no newline", "END R", "REPOR"),
        *("START", "END R", "REPOR"),
    ]
    starts = [line for line in lines if line.startswith("START")]
    assert starts == [f"START RequestId: {i} Version: $LATEST" for i in ids]
    assert tails[2].startswith(b"START")
    assert b"no newline\nEND RequestId: " in tails[2]
    assert tails[3].count(b"START") == 1


def test_a_handler_that_redirects_fd_1_keeps_its_log_framing(tmp_path: Path) -> None:
    code = write_code(
        tmp_path / "code",
        """
        import os
        def handler(event, context):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            print("lost to /dev/null", flush=True)
            return 1
    """,
    )

    async def scenario() -> list[bytes]:
        async with started(tmp_path, [fn_config("f", code)]) as runtime:
            return [(await call(runtime, "f", want_log_tail=True)).log_tail for _ in range(2)]

    tails = run(scenario())
    assert all(b"\nEND RequestId: " in tail and b"\nREPORT RequestId: " in tail for tail in tails)
