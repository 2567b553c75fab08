"""Powertools' partial batch processing for SQS, as its documentation writes it."""

import json

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord):
    order = record.json_body
    print("handled " + json.dumps({"id": record.message_id, "order": order["order"]}))
    if order.get("invalid"):
        raise ValueError(f"order {order['order']} is invalid")


def lambda_handler(event, context):
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
