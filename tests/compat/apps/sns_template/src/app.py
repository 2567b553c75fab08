import json
import os


def record(event, context):
    print("event " + json.dumps(event))
    return {"ok": True}


def where(event, context):
    return {
        "topic_arn": os.environ["TOPIC_ARN"],
        "topic_name": os.environ["TOPIC_NAME"],
        "audit_url": os.environ["AUDIT_URL"],
    }
