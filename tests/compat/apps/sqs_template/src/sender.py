import os

import boto3
from botocore.exceptions import ClientError


def handler(event, context):
    # The function's own credentials and endpoint, as Lambda's execution role gives them.
    sqs = boto3.client("sqs")
    url = event.get("url") or os.environ["JOBS_URL"]
    try:
        sent = sqs.send_message(QueueUrl=url, MessageBody=event["body"])
    except ClientError as exc:
        return {"error": exc.response["Error"]["Code"], "message": exc.response["Error"]["Message"]}
    return {"sent": sent["MessageId"]}
