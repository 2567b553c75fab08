import pytest
from hypothesis import given
from hypothesis import strategies as st

from overcast.runtime.errors import ProtocolError
from overcast.runtime.frames import MAX_FRAME_SIZE, FrameDecoder, encode_frame


def test_one_frame_round_trips() -> None:
    assert FrameDecoder().feed(encode_frame(b"hello")) == [b"hello"]


def test_frame_split_byte_by_byte_is_reassembled() -> None:
    decoder = FrameDecoder()
    data = encode_frame(b"abcdef")
    out: list[bytes] = []
    for i in range(len(data)):
        out += decoder.feed(data[i : i + 1])
    assert out == [b"abcdef"]
    assert decoder.pending == 0


def test_merged_frames_in_one_read_come_out_in_order() -> None:
    data = encode_frame(b"one") + encode_frame(b"") + encode_frame(b"three")
    assert FrameDecoder().feed(data) == [b"one", b"", b"three"]


def test_partial_tail_is_kept_for_the_next_read() -> None:
    decoder = FrameDecoder()
    data = encode_frame(b"first") + encode_frame(b"second")
    assert decoder.feed(data[:12]) == [b"first"]
    assert decoder.feed(data[12:]) == [b"second"]


def test_oversized_frame_header_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        FrameDecoder().feed((MAX_FRAME_SIZE + 1).to_bytes(4, "big") + b"x")


@given(st.lists(st.binary(max_size=300), max_size=20), st.lists(st.integers(1, 50), min_size=1))
def test_any_chunking_yields_the_same_frames(bodies: list[bytes], cuts: list[int]) -> None:
    data = b"".join(encode_frame(body) for body in bodies)
    decoder = FrameDecoder()
    out: list[bytes] = []
    offset = 0
    index = 0
    while offset < len(data):
        size = cuts[index % len(cuts)]
        out += decoder.feed(data[offset : offset + size])
        offset += size
        index += 1
    assert out == bodies
