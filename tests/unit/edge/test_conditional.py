import pytest

from overcast.edge.conditional import ByteRange, Unsatisfiable, http_date, not_modified, parse_range

LM = http_date(1_700_000_000)


def nm(inm: bytes | None = None, ims: bytes | None = None, method: str = "GET") -> bool:
    return not_modified(
        method, if_none_match=inm, if_modified_since=ims, etag=b'"v1"', last_modified=LM
    )


def test_if_none_match() -> None:
    assert nm(b'"v1"')
    assert nm(b'"v0", W/"v1"')  # weak comparison
    assert nm(b"*")
    assert not nm(b'"v2"')
    assert not nm(b'"v1"', method="POST")


def test_if_modified_since_and_precedence() -> None:
    assert nm(ims=LM)
    assert nm(ims=http_date(1_700_000_100))
    assert not nm(ims=http_date(1_699_999_000))
    assert not nm(b'"other"', ims=LM)  # If-None-Match wins
    assert not nm(ims=b"garbage")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"bytes=0-9", ByteRange(0, 9, 100)),
        (b"bytes=90-", ByteRange(90, 99, 100)),
        (b"bytes=-10", ByteRange(90, 99, 100)),
        (b"bytes=95-200", ByteRange(95, 99, 100)),
        (b"bytes=-500", ByteRange(0, 99, 100)),
        (b"bytes=0-1,5-6", None),
        (b"items=0-1", None),
        (b"bytes=5-1", None),
        (b"bytes=abc", None),
    ],
)
def test_single_ranges(header: bytes, expected: ByteRange | None) -> None:
    assert parse_range(header, 100) == expected


def test_unsatisfiable_ranges() -> None:
    r = parse_range(b"bytes=100-", 100)
    assert isinstance(r, Unsatisfiable)
    assert r.content_range == b"bytes */100"
    assert isinstance(parse_range(b"bytes=-0", 100), Unsatisfiable)
    assert ByteRange(0, 9, 100).content_range == b"bytes 0-9/100"


def test_if_range_mismatch_sends_whole_object() -> None:
    assert parse_range(b"bytes=0-1", 10, if_range=b'"old"', etag=b'"new"') is None
    assert parse_range(b"bytes=0-1", 10, if_range=b'"new"', etag=b'"new"') == ByteRange(0, 1, 10)
    assert parse_range(b"bytes=0-1", 10, if_range=LM, last_modified=LM) == ByteRange(0, 1, 10)
