"""Takes a second per batch; logs when a batch starts and each message it finished."""

import time


def consume(event, context):
    print("start " + " ".join(r["body"] for r in event["Records"]))
    time.sleep(1)
    for record in event["Records"]:
        print("done " + record["body"])
