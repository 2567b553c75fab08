"""S3's event record (version 2.1) and which notifications want a change."""

from __future__ import annotations

import orjson

from overcast.events.s3_event import ObjectChange, s3_event_payload, sequencer, wanted


def change(key: str = "in/a b.txt", event_name: str = "ObjectCreated:Put", **more: object):
    fields: dict[str, object] = {
        "bucket": "photos",
        "key": key,
        "event_name": event_name,
        "time": 1_700_000_000.25,
        "sequencer": "0055AED6DCD90281E5",
        "principal": "AWS:AKIAEXAMPLE",
        "source_ip": "127.0.0.1",
        "request_id": "C3D13FE58DE4C810",
        "host_id": "FMyUVURIY8=",
        "size": 1024,
        "etag": "d41d8cd98f00b204e9800998ecf8427e",
    }
    fields.update(more)
    return ObjectChange(**fields)  # type: ignore[arg-type]


def test_the_payload_is_one_record_in_s3s_shape() -> None:
    payload = orjson.loads(
        s3_event_payload(change(), region="eu-west-1", configuration_id="cfg", owner="1234")
    )
    assert payload == {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "eu-west-1",
                "eventTime": "2023-11-14T22:13:20.250Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:AKIAEXAMPLE"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {
                    "x-amz-request-id": "C3D13FE58DE4C810",
                    "x-amz-id-2": "FMyUVURIY8=",
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "cfg",
                    "bucket": {
                        "name": "photos",
                        "ownerIdentity": {"principalId": "1234"},
                        "arn": "arn:aws:s3:::photos",
                    },
                    "object": {
                        "key": "in/a+b.txt",
                        "size": 1024,
                        "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                        "sequencer": "0055AED6DCD90281E5",
                    },
                },
            }
        ]
    }


def test_a_removal_has_no_size_or_etag_and_keys_are_form_encoded() -> None:
    payload = orjson.loads(
        s3_event_payload(
            change("a=b/ü c+d", "ObjectRemoved:Delete", size=None, etag=None),
            region="us-east-1",
            configuration_id="c",
            owner="o",
        )
    )
    obj = payload["Records"][0]["s3"]["object"]
    assert obj == {"key": "a%3Db/%C3%BC+c%2Bd", "sequencer": "0055AED6DCD90281E5"}


def test_event_types_match_by_name_or_wildcard() -> None:
    put = change()
    assert wanted(["s3:ObjectCreated:*"], None, None, put)
    assert wanted(["s3:ObjectCreated:Put"], None, None, put)
    assert not wanted(["s3:ObjectCreated:Copy"], None, None, put)
    assert not wanted(["s3:ObjectRemoved:*"], None, None, put)
    assert wanted(["s3:ObjectRemoved:*"], None, None, change(event_name="ObjectRemoved:Delete"))


def test_key_filters_compare_prefix_and_suffix_case_sensitively() -> None:
    events = ["s3:ObjectCreated:*"]
    assert wanted(events, "in/", ".txt", change("in/x.txt"))
    assert not wanted(events, "in/", ".txt", change("in/x.TXT"))
    assert not wanted(events, "in/", ".txt", change("out/x.txt"))
    assert wanted(events, None, ".txt", change("out/x.txt"))


def test_sequencers_order_by_time_then_counter() -> None:
    assert sequencer(10, 1) < sequencer(10, 2) < sequencer(11, 0)
    assert sequencer(10, 1) == sequencer(10, 1).upper()
