"""Two Lambda authorizers, written as for AWS.

``token`` (REST, TOKEN): ``allow-<user>`` is allowed on every method of the API except
``GET /rest/admin``, which is denied explicitly; ``unauthorized`` raises the error that
makes API Gateway answer 401; anything else is a bug (500).
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html

``api_key`` (HTTP API, REQUEST, simple responses): the key ``good`` is authorized.
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
"""

from __future__ import annotations

import os
from typing import Any


def token(event: dict[str, Any], context: object) -> dict[str, Any]:
    value = event["authorizationToken"]
    if value == "unauthorized":
        raise Exception("Unauthorized")  # API Gateway answers 401 for exactly this message
    if not value.startswith("allow-"):
        raise ValueError(f"cannot read token {value!r}")
    # arn:aws:execute-api:region:account:api/stage/VERB/path -> everything of this API
    api_arn = event["methodArn"].split("/", 1)[0]
    return {
        "principalId": value.removeprefix("allow-"),
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": f"{api_arn}/*"},
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Deny",
                    "Resource": f"{api_arn}/*/GET/rest/admin",
                },
            ],
        },
        "context": {"tier": "gold", "level": 3, "pid": os.getpid(), "type": event["type"]},
    }


def api_key(event: dict[str, Any], context: object) -> dict[str, Any]:
    key = event["headers"].get("x-api-key")
    return {
        "isAuthorized": key == "good",
        "context": {"user": "key-user", "identity": event["identitySource"], "pid": os.getpid()},
    }
