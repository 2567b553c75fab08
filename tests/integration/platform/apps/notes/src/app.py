import json
import os


def handler(event, context):
    body = {"app": "notes", "path": event["rawPath"], "uid": os.getuid()}
    return {"statusCode": 200, "body": json.dumps(body)}
