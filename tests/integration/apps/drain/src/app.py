import json
import time


def handler(event, context):
    seconds = float((event.get("queryStringParameters") or {}).get("seconds", "0"))
    time.sleep(seconds)
    return {"statusCode": 200, "body": json.dumps({"slept": seconds})}
