"""Ranges and conditional headers as S3 reads them, without sockets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from overcast.control.s3_checks import byte_range, not_modified
from overcast.control.s3_xml import S3Error

MODIFIED = datetime(2024, 5, 6, 7, 8, 9, 500000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "span"),
    [
        ("bytes=0-0", (0, 0)),
        ("bytes=2-", (2, 9)),
        ("bytes=-3", (7, 9)),
        ("bytes=-30", (0, 9)),
        ("bytes=5-100", (5, 9)),
        ("bytes=3-1", None),  # unreadable: the whole object, as S3 does
        ("bytes=0-1,4-5", None),  # several ranges: the whole object
        ("items=0-1", None),
    ],
)
def test_byte_ranges(header: str, span: tuple[int, int] | None) -> None:
    assert byte_range(header, 10) == span


def test_a_range_past_the_end_is_invalid_range() -> None:
    with pytest.raises(S3Error) as info:
        byte_range("bytes=10-", 10)
    assert (info.value.status, info.value.code) == (416, "InvalidRange")


def test_conditional_reads_follow_s3s_order() -> None:
    etag = "abc"
    assert not_modified({"if-none-match": '"abc"'}, etag, MODIFIED)
    assert not not_modified({"if-none-match": '"other"'}, etag, MODIFIED)
    since = "Mon, 06 May 2024 07:08:09 GMT"  # second precision: the object is not newer
    assert not_modified({"if-modified-since": since}, etag, MODIFIED)
    # If-None-Match decides alone when both are sent
    assert not not_modified(
        {"if-none-match": '"other"', "if-modified-since": since}, etag, MODIFIED
    )
    with pytest.raises(S3Error) as info:
        not_modified({"if-match": '"other"'}, etag, MODIFIED)
    assert info.value.code == "PreconditionFailed"
    with pytest.raises(S3Error):
        not_modified({"if-unmodified-since": "Mon, 06 May 2024 07:08:08 GMT"}, etag, MODIFIED)
    # If-Match that holds overrides If-Unmodified-Since
    assert not not_modified(
        {"if-match": "*", "if-unmodified-since": "Mon, 06 May 2024 07:08:08 GMT"}, etag, MODIFIED
    )
    assert not not_modified({"if-modified-since": "not a date"}, etag, MODIFIED)
