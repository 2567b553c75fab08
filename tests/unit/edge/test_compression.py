import gzip

import brotli  # type: ignore[import-untyped]
import pytest

from overcast.edge.compression import add_vary, compress, is_compressible, negotiate, weak_etag


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        (b"gzip, deflate, br", "br"),
        (b"gzip", "gzip"),
        (b"br;q=0.5, gzip;q=0.8", "gzip"),
        (b"br;q=0, gzip", "gzip"),
        (b"gzip;q=0", ""),
        (b"identity", ""),
        (b"*", "br"),
        (b"*;q=0.1, gzip", "gzip"),
        (b"GZIP", "gzip"),
        (None, ""),
        (b"br;q=abc, gzip", "gzip"),
    ],
)
def test_negotiation_honours_q_values(header: bytes | None, chosen: str) -> None:
    assert negotiate(header) == chosen


@pytest.mark.parametrize(
    ("content_type", "size", "expected"),
    [
        (b"text/html; charset=utf-8", 5000, True),
        (b"application/json", 1000, True),
        (b"application/json", 999, False),
        (b"application/json", 10_000_001, False),
        (b"image/png", 50_000, False),
        (b"image/svg+xml", 2000, True),
        (None, 5000, False),
    ],
)
def test_compressible_follows_cloudfront_types_and_sizes(
    content_type: bytes | None, size: int, expected: bool
) -> None:
    assert is_compressible(content_type, size) is expected


def test_compress_round_trips() -> None:
    body = b"hello world " * 200
    assert gzip.decompress(compress(body, "gzip")) == body
    assert brotli.decompress(compress(body, "br")) == body


def test_weak_etag_and_vary() -> None:
    assert weak_etag(b'"abc"') == b'W/"abc"'
    assert weak_etag(b'W/"abc"') == b'W/"abc"'
    headers = [(b"vary", b"Origin")]
    add_vary(headers)
    add_vary(headers)
    assert headers == [(b"vary", b"Origin, Accept-Encoding")]
