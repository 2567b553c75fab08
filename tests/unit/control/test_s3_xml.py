"""S3's XML shapes and ListObjectsV2 paging, without sockets."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from overcast.control.s3_listing import decode_token, list_page
from overcast.control.s3_xml import (
    ListRequest,
    S3Error,
    error_body,
    list_objects_v2,
    no_such_key,
    parse_delete,
    timestamp,
)
from overcast.storage import ObjectInfo

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
WHEN = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


def info(key: str) -> ObjectInfo:
    return ObjectInfo(key, 3, "abc", None, "text/plain", WHEN)


def test_an_error_body_has_code_message_fields_and_request_id() -> None:
    root = ET.fromstring(error_body(no_such_key("a&b.txt"), "REQ1"))
    assert root.tag == "Error"
    assert [(c.tag, c.text) for c in root] == [
        ("Code", "NoSuchKey"),
        ("Message", "The specified key does not exist."),
        ("Key", "a&b.txt"),
        ("RequestId", "REQ1"),
    ]


def test_timestamps_have_milliseconds_and_z() -> None:
    assert timestamp(WHEN) == "2024-05-06T07:08:09.123Z"


def test_a_delimiter_rolls_keys_into_common_prefixes_counted_once() -> None:
    objects = [info(k) for k in ("a/1", "a/2", "b", "c/d/e", "c/f")]
    page = list_page(objects, delimiter="/")
    assert [o.key for o in page.contents] == ["b"]
    assert list(page.common_prefixes) == ["a/", "c/"]
    assert not page.is_truncated
    nested = list_page(objects, prefix="c/", delimiter="/")
    assert [o.key for o in nested.contents] == ["c/f"]
    assert list(nested.common_prefixes) == ["c/d/"]


def test_pages_resume_after_a_common_prefix_without_repeating_it() -> None:
    objects = [info(k) for k in ("a/1", "a/2", "b", "c/1", "d")]
    first = list_page(objects, delimiter="/", max_keys=1)
    assert list(first.common_prefixes) == ["a/"]
    assert first.is_truncated
    assert first.next_token is not None
    second = list_page(objects, delimiter="/", max_keys=2, token=first.next_token)
    assert [o.key for o in second.contents] == ["b"]
    assert list(second.common_prefixes) == ["c/"]
    assert second.next_token is not None
    third = list_page(objects, delimiter="/", max_keys=2, token=second.next_token)
    assert [o.key for o in third.contents] == ["d"]
    assert not third.is_truncated


def test_start_after_and_utf8_order() -> None:
    objects = [info(k) for k in ("é", "z", "a")]
    assert [o.key for o in list_page(objects).contents] == ["a", "z", "é"]
    assert [o.key for o in list_page(objects, start_after="a").contents] == ["z", "é"]


def test_a_foreign_continuation_token_is_invalid_argument() -> None:
    with pytest.raises(S3Error) as info_:
        decode_token("!!not base64!!")
    assert info_.value.code == "InvalidArgument"


def test_list_result_url_encodes_keys_when_asked() -> None:
    page = list_page([info("a b/c")], delimiter="")
    body = list_objects_v2(ListRequest("bkt", encoding_type="url"), page, "owner")
    root = ET.fromstring(body)
    assert root.find(f"{NS}Contents/{NS}Key").text == "a%20b/c"  # type: ignore[union-attr]
    assert root.find(f"{NS}KeyCount").text == "1"  # type: ignore[union-attr]
    assert root.find(f"{NS}Contents/{NS}ETag").text == '"abc"'  # type: ignore[union-attr]


def test_delete_bodies_are_parsed_and_dtds_refused() -> None:
    body = (
        b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>'
        b"<Object><Key>a</Key></Object><Object><Key>b</Key></Object></Delete>"
    )
    assert parse_delete(body) == (["a", "b"], True)
    with pytest.raises(S3Error) as info_:
        parse_delete(
            b'<!DOCTYPE x [<!ENTITY e "x">]><Delete><Object><Key>&e;</Key></Object></Delete>'
        )
    assert info_.value.code == "MalformedXML"
