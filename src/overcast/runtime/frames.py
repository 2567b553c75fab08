"""Length-prefixed frames: a 4-byte big-endian length, then that many bytes.

Sans-I/O (h11's habit): :class:`FrameDecoder` is fed whatever bytes a read returned
and hands back complete frames; :func:`encode_frame` builds one frame for one write.
"""

from __future__ import annotations

from overcast.runtime.errors import ProtocolError

HEADER_SIZE = 4
#: A frame carries at most an event or response (6 MB) plus envelope; anything far
#: larger means a broken or hostile peer.
MAX_FRAME_SIZE = 64 * 1024 * 1024


def encode_frame(body: bytes) -> bytes:
    """Prefix ``body`` with its length, ready for a single write."""
    size = len(body)
    if size > MAX_FRAME_SIZE:
        raise ProtocolError(f"frame of {size} bytes exceeds {MAX_FRAME_SIZE}")
    return size.to_bytes(HEADER_SIZE, "big") + body


class FrameDecoder:
    """Reassembles frames from reads that may split or merge them."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Add ``data``; return every frame now complete, in order."""
        buffer = self._buffer
        if not buffer and len(data) >= HEADER_SIZE:
            # Fast path: the common case is exactly one whole frame per read.
            size = int.from_bytes(data[:HEADER_SIZE], "big")
            if len(data) == HEADER_SIZE + size:
                self._check(size)
                return [data[HEADER_SIZE:]]
        buffer += data
        frames: list[bytes] = []
        offset = 0
        available = len(buffer)
        while available - offset >= HEADER_SIZE:
            size = int.from_bytes(buffer[offset : offset + HEADER_SIZE], "big")
            self._check(size)
            end = offset + HEADER_SIZE + size
            if end > available:
                break
            frames.append(bytes(buffer[offset + HEADER_SIZE : end]))
            offset = end
        if offset:
            del buffer[:offset]
        return frames

    @property
    def pending(self) -> int:
        """Bytes held that do not yet form a whole frame."""
        return len(self._buffer)

    @staticmethod
    def _check(size: int) -> None:
        if size > MAX_FRAME_SIZE:
            raise ProtocolError(f"peer announced a frame of {size} bytes (max {MAX_FRAME_SIZE})")
