import json
import os

import boto3
from botocore.exceptions import ClientError


def forward(event, context):
    # The SNS event, exactly as received, to a queue the test reads (own credentials).
    boto3.client("sqs").send_message(
        QueueUrl=os.environ["RECEIVED_URL"], MessageBody=json.dumps(event)
    )
    return {"ok": True}


def publish(event, context):
    try:
        sent = boto3.client("sns").publish(TopicArn=event["topic"], Message=event["message"])
    except ClientError as exc:
        return {"error": exc.response["Error"]["Code"], "message": exc.response["Error"]["Message"]}
    return {"sent": sent["MessageId"]}


def fail(event, context):
    raise RuntimeError(f"asked to fail {event['marker']}")


def where(event, context):
    return {
        "topic_arn": os.environ["TOPIC_ARN"],
        "topic_name": os.environ["TOPIC_NAME"],
        "other_arn": os.environ["OTHER_ARN"],
        "audit_url": os.environ["AUDIT_URL"],
        "received_url": os.environ["RECEIVED_URL"],
        "failure_log_url": os.environ["FAILURE_LOG_URL"],
    }
