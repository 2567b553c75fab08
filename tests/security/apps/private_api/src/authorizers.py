"""The app's Lambda authorizers, written as for AWS.

``token`` (REST, TOKEN): ``Bearer alice-token`` or ``Bearer bob-token``; anything else
raises the error that makes API Gateway answer 401.
``request`` (REST, REQUEST): the same tokens in the ``token`` query string parameter.
``simple`` (HTTP API, REQUEST, simple responses): the same tokens in ``X-Token``.
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
"""

from __future__ import annotations

from typing import Any

USERS = {"alice-token": "alice", "bob-token": "bob"}


def _allow(event: dict[str, Any], user: str) -> dict[str, Any]:
    # arn:aws:execute-api:region:account:api/stage/VERB/path -> every method of this API
    api_arn = event["methodArn"].split("/", 1)[0]
    return {
        "principalId": user,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": f"{api_arn}/*"}
            ],
        },
        "context": {"user": user},
    }


def token(event: dict[str, Any], context: object) -> dict[str, Any]:
    user = USERS.get(event["authorizationToken"].removeprefix("Bearer "))
    if user is None:
        raise Exception("Unauthorized")  # API Gateway answers 401 for exactly this message
    return _allow(event, user)


def request(event: dict[str, Any], context: object) -> dict[str, Any]:
    user = USERS.get((event.get("queryStringParameters") or {}).get("token", ""))
    if user is None:
        raise Exception("Unauthorized")
    return _allow(event, user)


def simple(event: dict[str, Any], context: object) -> dict[str, Any]:
    user = USERS.get((event.get("headers") or {}).get("x-token", ""))
    return {"isAuthorized": user is not None, "context": {"user": user or ""}}
