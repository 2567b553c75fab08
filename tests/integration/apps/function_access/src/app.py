"""Reads secrets with hvac and invokes other functions with boto3, as the event asks."""

import json
import os

import boto3
import botocore.exceptions
import hvac
import hvac.exceptions


def _read(path):
    client = hvac.Client(url=os.environ["VAULT_ADDR"], token=os.environ["VAULT_TOKEN"])
    try:
        response = client.secrets.kv.v2.read_secret_version(
            path=path, mount_point="secret", raise_on_deleted_version=True
        )
    except hvac.exceptions.Forbidden:
        return {"status": 403}
    return {"status": 200, "data": response["data"]["data"]}


def _invoke(name):
    client = boto3.client("lambda")
    try:
        response = client.invoke(FunctionName=name, Payload=b'{"ping": 1}')
    except botocore.exceptions.ClientError as exc:
        return {"error": exc.response["Error"]["Code"]}
    return {"payload": json.loads(response["Payload"].read())}


def caller(event, context):
    if "read" in event:
        return _read(event["read"])
    if "invoke" in event:
        return _invoke(event["invoke"])
    if "leak" in event:  # what an attacker who took the function over would carry away
        return {k: os.environ[k] for k in os.environ if k.startswith("AWS_")}
    print(f"token={os.environ['VAULT_TOKEN']} secret={os.environ['AWS_SECRET_ACCESS_KEY']}")
    return {"keys": sorted(k for k in os.environ if k.startswith(("VAULT_", "AWS_ENDPOINT")))}


def target(event, context):
    return {"pong": event.get("ping"), "name": context.function_name}
