"""The query protocol's codec: flattened forms in, XML out (no sockets)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from overcast.control import query_protocol as qp
from overcast.control.sqs_query_shapes import NAMESPACE
from overcast.control.sqs_query_shapes import OPERATIONS as SQS

_NS = {"q": NAMESPACE}


def test_flattened_maps_and_lists_decode_to_the_json_protocols_nesting() -> None:
    form = qp.form_params(
        b"Action=SendMessageBatch&QueueUrl=u"
        b"&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=x"
        b"&SendMessageBatchRequestEntry.1.DelaySeconds=5"
        b"&SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=k"
        b"&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=String"
        b"&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=v%20w"
        b"&SendMessageBatchRequestEntry.2.Id=b&SendMessageBatchRequestEntry.2.MessageBody=y"
    )
    assert qp.decode(SQS["SendMessageBatch"].input, form) == {
        "QueueUrl": "u",
        "Entries": [
            {
                "Id": "a",
                "MessageBody": "x",
                "DelaySeconds": 5,
                "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v w"}},
            },
            {"Id": "b", "MessageBody": "y"},
        ],
    }


def test_a_number_that_does_not_parse_stays_text_for_the_operation_to_refuse() -> None:
    form = qp.form_params(b"", b"QueueUrl=u&MaxNumberOfMessages=many&AttributeName.1=All")
    assert qp.decode(SQS["ReceiveMessage"].input, form) == {
        "QueueUrl": "u",
        "MaxNumberOfMessages": "many",
        "AttributeNames": ["All"],
    }


def test_member_lists_and_entry_maps_decode_when_not_flattened() -> None:
    shape = qp.struct(
        Items=qp.ListOf(qp.STRING),
        Attributes=qp.MapOf(qp.STRING),
        Flag=qp.BOOLEAN,
        Empty=qp.ListOf(qp.STRING),
    )
    form = qp.form_params(
        b"Items.member.1=a&Items.member.2=b&Attributes.entry.1.key=k&Attributes.entry.1.value=v"
        b"&Flag=true&Empty="
    )
    assert qp.decode(shape, form) == {
        "Items": ["a", "b"],
        "Attributes": {"k": "v"},
        "Flag": True,
        "Empty": [],
    }


def test_results_render_with_flattened_and_member_lists_and_escaped_text() -> None:
    result = {
        "Messages": [
            {
                "MessageId": "m1",
                "Body": "a <b> & c\r\n",
                "Attributes": {"SenderId": "me"},
                "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}},
            }
        ]
    }
    xml = qp.encode("ReceiveMessage", NAMESPACE, SQS["ReceiveMessage"], result, "rid")
    root = ET.fromstring(xml)
    assert root.tag == f"{{{NAMESPACE}}}ReceiveMessageResponse"
    message = root.find("q:ReceiveMessageResult/q:Message", _NS)
    assert message is not None
    assert message.findtext("q:Body", namespaces=_NS) == "a <b> & c\r\n"
    assert message.findtext("q:Attribute/q:Name", namespaces=_NS) == "SenderId"
    assert message.findtext("q:MessageAttribute/q:Value/q:DataType", namespaces=_NS) == "String"
    assert root.findtext("q:ResponseMetadata/q:RequestId", namespaces=_NS) == "rid"
    shape = qp.Operation(qp.struct(), qp.struct(Topics=qp.ListOf(qp.struct(TopicArn=qp.STRING))))
    xml = qp.encode("ListTopics", "ns", shape, {"Topics": [{"TopicArn": "t"}]}, "r")
    assert b"<Topics><member><TopicArn>t</TopicArn></member></Topics>" in xml


def test_an_operation_without_a_result_answers_only_its_metadata() -> None:
    xml = qp.encode("DeleteQueue", NAMESPACE, SQS["DeleteQueue"], {}, "rid")
    root = ET.fromstring(xml)
    assert [child.tag.split("}")[1] for child in root] == ["ResponseMetadata"]


def test_errors_carry_type_code_and_message() -> None:
    root = ET.fromstring(qp.error("ns", "NotFound", "Topic <x> does not exist", "rid"))
    error = root.find("{ns}Error")
    assert error is not None
    assert error.findtext("{ns}Type") == "Sender"
    assert error.findtext("{ns}Code") == "NotFound"
    assert error.findtext("{ns}Message") == "Topic <x> does not exist"


def _scope(
    method: str = "POST",
    path: str = "/",
    *,
    service: str = "sqs",
    content_type: bytes = b"application/x-www-form-urlencoded; charset=utf-8",
    query: bytes = b"",
) -> dict[str, object]:
    authorization = (
        "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-east-1/"
        f"{service}/aws4_request, SignedHeaders=host;x-amz-date, Signature={'0' * 64}"
    )
    return {
        "method": method,
        "path": path,
        "query_string": query,
        "headers": [(b"content-type", content_type), (b"authorization", authorization.encode())],
    }


def test_query_requests_are_told_apart_by_the_signed_service() -> None:
    assert qp.is_query_request(_scope(), "sqs")
    assert not qp.is_query_request(_scope(), "sns")
    assert qp.is_query_request(_scope(service="sns"), "sns")
    assert not qp.is_query_request(_scope(content_type=b"application/x-amz-json-1.0"), "sqs")
    queue = "/123456789012/jobs"
    assert qp.is_query_request(_scope(path=queue), "sqs", queue_paths=True)
    assert not qp.is_query_request(_scope(path=queue), "sqs")
    assert qp.is_query_request(
        _scope("GET", queue, query=b"Action=ReceiveMessage"), "sqs", queue_paths=True
    )
    assert not qp.is_query_request(_scope("GET", queue), "sqs", queue_paths=True)


def test_a_scalar_sent_as_a_list_is_absent_and_unxmlable_text_is_replaced() -> None:
    shape = qp.struct(AttributeName=qp.STRING, Names=qp.ListOf(qp.STRING))
    form = qp.form_params(b"AttributeName.1=x&Names.member.1.deeper=y&Names.member.2=z")
    assert qp.decode(shape, form) == {"Names": ["z"]}
    root = ET.fromstring(qp.error("ns", "InvalidAction", "The action a\x00b is not valid", "r"))
    assert root.findtext("{ns}Error/{ns}Message") == "The action a\ufffdb is not valid"
