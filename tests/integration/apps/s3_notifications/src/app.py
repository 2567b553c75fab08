"""Logs each S3 event it gets; or writes to the buckets with its own credentials."""

import json
import os

import boto3
import botocore.exceptions


def record(event, context):
    print("event " + json.dumps(event))
    return {}


def _put(bucket, key):
    client = boto3.client("s3")
    try:
        response = client.put_object(Bucket=bucket, Key=key, Body=b"written by a function")
    except botocore.exceptions.ClientError as exc:
        return {"error": exc.response["Error"]["Code"]}
    return {"etag": response["ETag"]}


def write(event, context):
    return {
        "uploads": _put(os.environ["UPLOADS"], event["key"]),
        "archive": _put(os.environ["ARCHIVE"], event["key"]),
    }
