"""Fails each record with probability FAIL_RATE (reported); notes the others' bodies in
a file of the mounted ledger folder, fsync'd before it returns."""

import os
import random
import uuid

FAIL_RATE = float(os.environ.get("FAIL_RATE", "0"))
LEDGER = os.path.join("/mnt/ledger", f"{uuid.uuid4().hex}.txt")


def handler(event, context):
    failures = []
    done = []
    for record in event["Records"]:
        if random.random() < FAIL_RATE:
            failures.append({"itemIdentifier": record["messageId"]})
        else:
            done.append(record["body"])
    if done:
        with open(LEDGER, "a") as ledger:
            ledger.write(" ".join(done) + "\n")
            ledger.flush()
            os.fsync(ledger.fileno())
    return {"batchItemFailures": failures}
