"""The request limits' pure parts: settings, refusals, a connection's clock, the tally."""

from __future__ import annotations

import h11
import orjson
import pytest

from overcast.control.http_limits import (
    CLIENT_FULL,
    PORT_FULL,
    Admission,
    ConnectionTally,
    Expiry,
    HttpLimits,
    HttpLimitsError,
    Phase,
    Refusal,
    RequestClock,
    connection_cap,
    limit_options,
)

LIMITS = HttpLimits(header_timeout_s=2, body_timeout_s=3, max_header_bytes=2048)


def _parsed(raw: bytes) -> tuple[h11.Response, bytes]:
    """A refusal as an HTTP client reads it (h11 as the client side)."""
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
    client.send(h11.EndOfMessage())
    client.receive_data(raw)
    response = client.next_event()
    assert isinstance(response, h11.Response)
    body = b""
    while True:
        event = client.next_event()
        if isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            return response, body
        else:
            raise AssertionError(f"unexpected {event!r}")


@pytest.mark.parametrize(
    "refusal",
    [LIMITS.head_timeout(), LIMITS.body_timeout(), LIMITS.head_too_large(), PORT_FULL, CLIENT_FULL],
)
def test_a_refusal_is_a_whole_closing_response_with_a_message(refusal: Refusal) -> None:
    response, body = _parsed(refusal.render())
    assert response.status_code == refusal.status
    headers = dict(response.headers)
    assert headers[b"connection"] == b"close"
    assert headers[b"content-type"] == b"application/json"
    assert orjson.loads(body) == {"message": refusal.message}
    assert (b"retry-after" in headers) == (refusal.status == 503)


def test_the_messages_say_which_limit() -> None:
    assert "2048 bytes" in LIMITS.head_too_large().message
    assert "2 s" in LIMITS.head_timeout().message
    assert "body" in LIMITS.body_timeout().message


@pytest.mark.parametrize(
    ("field", "value"),
    [("header_timeout_s", 0), ("body_timeout_s", -1), ("max_connections", 0),
     ("max_client_connections", 0), ("max_header_bytes", 100)],
)  # fmt: skip
def test_a_limit_that_leaves_nothing_is_refused(field: str, value: float) -> None:
    with pytest.raises(HttpLimitsError):
        HttpLimits(**{field: value})  # type: ignore[arg-type]


def test_every_limit_has_a_flag_of_its_own() -> None:
    options = limit_options()
    flags = [flag for _name, flag, *_ in options]
    assert len(set(flags)) == len(flags) == 5
    assert all(flag.startswith("--") for flag in flags)
    assert {name for name, *_ in options} == set(HttpLimits.__dataclass_fields__)


def test_a_new_connection_must_start_its_head_within_the_header_timeout() -> None:
    clock = RequestClock(LIMITS, now=100.0)
    assert clock.phase is Phase.IDLE
    assert clock.expired(101.9) is None
    assert clock.expired(102.0) is Expiry.CLOSE


def test_the_first_heads_time_counts_from_the_accept() -> None:
    clock = RequestClock(LIMITS, now=100.0)
    clock.receiving_head(10, now=101.5)
    assert clock.phase is Phase.HEAD
    assert clock.deadline == 102.0
    assert clock.expired(102.0) is Expiry.HEAD


def test_a_trickled_head_expires_however_often_bytes_come() -> None:
    clock = RequestClock(LIMITS, now=0.0)
    clock.receiving_head(20, now=0.1)
    clock.body_ended()
    start = 50.0
    for step in range(40):
        clock.receiving_head(12, now=start + step * 0.1)
    assert clock.expired(start + 1.9) is None
    assert clock.expired(start + 2.0) is Expiry.HEAD


def test_the_body_gets_its_own_deadline_and_a_whole_request_none() -> None:
    clock = RequestClock(LIMITS, now=0.0)
    clock.receiving_head(50, now=0.5)
    clock.head_ended(now=1.0)
    assert clock.phase is Phase.BODY
    assert clock.expired(3.9) is None
    assert clock.expired(4.0) is Expiry.BODY
    clock.body_ended()
    assert clock.phase is Phase.IDLE
    assert clock.expired(1e9) is None


def test_head_room_shrinks_with_the_head_and_resets_with_the_next() -> None:
    clock = RequestClock(LIMITS, now=0.0)
    assert clock.head_room() == 2048
    clock.receiving_head(2000, now=0.0)
    assert clock.head_room() == 48
    heads = clock.heads
    clock.body_ended()
    assert clock.head_room() == 2048
    clock.receiving_head(1, now=1.0)
    assert clock.heads == heads + 1
    assert clock.head_room() == 2047


def test_the_tally_refuses_past_each_cap_and_counts_back_down() -> None:
    limits = HttpLimits(max_connections=10, max_client_connections=3)
    tally = ConnectionTally(limits)
    for _ in range(3):
        assert tally.admit("a") == (Admission.ADMIT, None)
    assert tally.admit("a") == (Admission.REFUSE, CLIENT_FULL)
    for n in range(7):
        assert tally.admit(f"b{n}")[0] is Admission.ADMIT
    assert tally.open == 10
    assert tally.admit("c") == (Admission.REFUSE, PORT_FULL)
    tally.leave("a", Admission.ADMIT)
    assert tally.admit("a")[0] is Admission.ADMIT
    tally.leave("a", Admission.REFUSE)
    tally.leave("c", Admission.REFUSE)
    assert tally.refusing == 0
    for n in range(7):
        tally.leave(f"b{n}", Admission.ADMIT)
    assert tally.by_client == {"a": 3}


def test_refusals_past_their_slots_are_answered_without_lingering() -> None:
    limits = HttpLimits(max_connections=1, max_client_connections=1)
    tally = ConnectionTally(limits)
    assert tally.admit("a")[0] is Admission.ADMIT
    slots = limits.refusal_slots
    assert [tally.admit("x")[0] for _ in range(slots)] == [Admission.REFUSE] * slots
    assert tally.admit("x") == (Admission.DROP, PORT_FULL)
    tally.leave("x", Admission.DROP)
    assert tally.refusing == slots


def test_default_caps_shrink_to_a_small_open_file_limit_and_chosen_ones_stay() -> None:
    small = connection_cap(HttpLimits(), open_files=1024, ports=3)
    assert small.max_connections == 170
    assert small.max_client_connections == 42
    assert connection_cap(HttpLimits(), open_files=1 << 20, ports=3) == HttpLimits()
    chosen = HttpLimits(max_connections=5000, max_client_connections=900)
    assert connection_cap(chosen, open_files=1024, ports=3) == chosen
