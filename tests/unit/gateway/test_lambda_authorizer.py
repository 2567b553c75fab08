"""Lambda authorizers: events sent, answers read, policies evaluated, results cached."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest

from overcast.gateway import GatewayApp, build_authorizer_event, evaluate_policy
from overcast.gateway.lambda_authorizer import arn_matches, method_arn
from overcast.invoke import InvokeRequest, InvokeResult
from overcast.template.model import LambdaAuthorizerSpec

from .helpers import HTTP, REST, matched, model, request, rest_route, route, table

ARN = "arn:aws:execute-api:us-east-1:123456789012:abcde12345/Prod/GET/pets/7"

TOKEN = LambdaAuthorizerSpec(name="Tok", function="auth-fn", api_kind="rest")
REQUEST_REST = LambdaAuthorizerSpec(
    name="Req",
    function="auth-fn",
    api_kind="rest",
    payload_type="REQUEST",
    identity_sources=("$request.header.X-Key", "$request.querystring.q"),
)
HTTP_V2 = LambdaAuthorizerSpec(
    name="H2",
    function="auth-fn",
    api_kind="http",
    payload_type="REQUEST",
    payload_format="2.0",
    simple_responses=True,
    identity_sources=("$request.header.X-Key",),
)
HTTP_V1 = dataclasses.replace(HTTP_V2, name="H1", payload_format="1.0", simple_responses=False)


def allow(resource: str = "arn:aws:execute-api:*", **extra: Any) -> dict[str, Any]:
    return {
        "principalId": "user-7",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resource}
            ],
        },
        **extra,
    }


# -- method ARNs and policies ------------------------------------------------------


def test_method_arn_names_region_account_api_stage_verb_and_path() -> None:
    arn = method_arn(
        "us-east-1", "123456789012", "abcde12345", stage="Prod", method="GET", path="/pets/7"
    )
    assert arn == ARN


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (ARN, True),
        ("arn:aws:execute-api:us-east-1:123456789012:abcde12345/*", True),
        ("arn:aws:execute-api:us-east-1:123456789012:abcde12345/*/GET/pets/*", True),
        ("arn:aws:execute-api:us-east-1:123456789012:abcde12345/Prod/?ET/pets/7", True),
        ("arn:aws:execute-api:us-east-1:123456789012:abcde12345/*/POST/*", False),
        ("arn:aws:execute-api:us-east-1:123456789012:other/*", False),
        ("*", True),
    ],
)
def test_resource_wildcards(resource: str, expected: bool) -> None:
    assert arn_matches(resource, ARN) is expected


def test_explicit_deny_beats_allow_and_unmatched_is_none() -> None:
    allow_all = {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"}
    deny_pets = {"Action": ["execute-api:Invoke"], "Effect": "Deny", "Resource": ["*/GET/pets/*"]}
    assert evaluate_policy([allow_all], ARN) == "allow"
    assert evaluate_policy([allow_all, deny_pets], ARN) == "deny"
    other = {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*/POST/*"}
    assert evaluate_policy([other], ARN) == "none"
    wrong_action = {"Action": "s3:GetObject", "Effect": "Allow", "Resource": "*"}
    assert evaluate_policy([wrong_action], ARN) == "none"


# -- events ------------------------------------------------------------------------


def test_rest_token_event_is_type_token_and_method_arn() -> None:
    tbl = table([rest_route("/pets/{id}")])
    req = request("GET", "/pets/7", headers=[("authorization", "tok")])
    event = build_authorizer_event(
        TOKEN, req, matched(tbl, req), arn=ARN, identity=["tok"], account_id="123456789012"
    )
    assert event == {"type": "TOKEN", "authorizationToken": "tok", "methodArn": ARN}


def test_rest_request_event_is_the_proxy_event_without_body() -> None:
    tbl = table([rest_route("/pets/{id}")])
    req = request("GET", "/pets/7", query_string="q=1", headers=[("x-key", "k")])
    event = build_authorizer_event(
        REQUEST_REST, req, matched(tbl, req), arn=ARN, identity=["k", "1"], account_id="1"
    )
    assert (event["type"], event["methodArn"], event["resource"]) == ("REQUEST", ARN, "/pets/{id}")
    assert event["pathParameters"] == {"id": "7"}
    assert event["headers"]["x-key"] == "k"
    assert event["queryStringParameters"] == {"q": "1"}
    assert "body" not in event
    assert "isBase64Encoded" not in event


def test_http_v2_event_has_route_arn_and_identity_list() -> None:
    tbl = table([route("/pets/{id}")])
    req = request("GET", "/pets/7", headers=[("x-key", "k")])
    event = build_authorizer_event(
        HTTP_V2, req, matched(tbl, req), arn=ARN, identity=["k"], account_id="1"
    )
    assert list(event)[:4] == ["version", "type", "routeArn", "identitySource"]
    assert (event["version"], event["type"], event["identitySource"]) == ("2.0", "REQUEST", ["k"])
    assert event["routeKey"] == "GET /pets/{id}"
    assert "body" not in event


def test_http_v1_event_joins_identity_into_identity_source_and_token() -> None:
    tbl = table([route("/pets/{id}", payload_format="1.0")])
    req = request("GET", "/pets/7", headers=[("x-key", "k")])
    event = build_authorizer_event(
        HTTP_V1, req, matched(tbl, req), arn=ARN, identity=["k", "z"], account_id="1"
    )
    assert (event["version"], event["methodArn"]) == ("1.0", ARN)
    assert event["identitySource"] == event["authorizationToken"] == "k,z"
    assert event["httpMethod"] == "GET"


# -- through the gateway -----------------------------------------------------------


@dataclass
class ScriptedAuthorizer:
    """Invoker: ``auth-fn`` answers ``answer`` (or raises ``error``); other functions echo."""

    answer: Any = field(default_factory=allow)
    error_message: str | None = None
    calls: list[InvokeRequest] = field(default_factory=list)

    async def invoke(self, req: InvokeRequest) -> InvokeResult:
        self.calls.append(req)
        if req.function_name != "auth-fn":
            event = orjson.loads(req.payload)
            body = orjson.dumps({"authorizer": event["requestContext"].get("authorizer")})
            return InvokeResult(payload=orjson.dumps({"statusCode": 200, "body": body.decode()}))
        if self.error_message is not None:
            error = {"errorMessage": self.error_message, "errorType": "Exception"}
            return InvokeResult(payload=orjson.dumps(error), function_error="Unhandled")
        return InvokeResult(payload=orjson.dumps(self.answer))

    def function_names(self) -> list[str]:
        return ["auth-fn"]

    def auth_calls(self) -> list[dict[str, Any]]:
        return [orjson.loads(c.payload) for c in self.calls if c.function_name == "auth-fn"]


class Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def rest_app(invoker: ScriptedAuthorizer, spec: LambdaAuthorizerSpec = TOKEN) -> GatewayApp:
    api = dataclasses.replace(REST, authorizers={spec.name: spec})
    spec_route = dataclasses.replace(rest_route("/pets/{id}"), authorizer=spec.name)
    return GatewayApp(model([spec_route], api_specs=[api]), invoker, id_factory=lambda: "req-1")


def http_app(invoker: ScriptedAuthorizer, spec: LambdaAuthorizerSpec = HTTP_V2) -> GatewayApp:
    api = dataclasses.replace(HTTP, authorizers={spec.name: spec})
    spec_route = dataclasses.replace(
        route("/pets/{id}", payload_format=spec.payload_format), authorizer=spec.name
    )
    return GatewayApp(model([spec_route], api_specs=[api]), invoker, id_factory=lambda: "req-1")


def send(app: GatewayApp, *calls: tuple[str, dict[str, str]]) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            return [await client.get(url, headers=headers) for url, headers in calls]

    return asyncio.run(run())


def test_rest_allow_puts_principal_and_stringified_context_in_the_event() -> None:
    invoker = ScriptedAuthorizer(allow(context={"tier": "gold", "n": 3, "ok": True}))
    (response,) = send(rest_app(invoker), ("/pets/7", {"authorization": "t"}))
    assert response.status_code == 200, response.text
    authorizer = response.json()["authorizer"]
    assert authorizer["principalId"] == "user-7"
    assert (authorizer["tier"], authorizer["n"], authorizer["ok"]) == ("gold", "3", "true")
    assert invoker.auth_calls()[0]["methodArn"].endswith("/Prod/GET/pets/7")


def test_rest_missing_token_is_401_without_invoking() -> None:
    invoker = ScriptedAuthorizer()
    (response,) = send(rest_app(invoker), ("/pets/7", {}))
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})
    assert response.headers["x-amzn-errortype"] == "UnauthorizedException"
    assert invoker.calls == []


def test_rest_unauthorized_error_is_401_and_other_errors_500() -> None:
    (refused,) = send(
        rest_app(ScriptedAuthorizer(error_message="Unauthorized")),
        ("/pets/7", {"authorization": "t"}),
    )
    assert refused.status_code == 401
    (crashed,) = send(
        rest_app(ScriptedAuthorizer(error_message="boom")), ("/pets/7", {"authorization": "t"})
    )
    assert crashed.status_code == 500
    assert crashed.headers["x-amzn-errortype"] == "AuthorizerConfigurationException"


def test_rest_deny_and_unmatched_allow_are_403_with_aws_messages() -> None:
    deny = allow()
    deny["policyDocument"]["Statement"][0]["Effect"] = "Deny"
    (denied,) = send(rest_app(ScriptedAuthorizer(deny)), ("/pets/7", {"authorization": "t"}))
    assert denied.status_code == 403
    assert denied.json() == {
        "message": "User is not authorized to access this resource with an explicit deny"
    }
    narrow = allow("arn:aws:execute-api:*:*:*/*/POST/*")
    (unmatched,) = send(rest_app(ScriptedAuthorizer(narrow)), ("/pets/7", {"authorization": "t"}))
    assert unmatched.json() == {"message": "User is not authorized to access this resource"}


def test_a_malformed_answer_is_500() -> None:
    (response,) = send(
        rest_app(ScriptedAuthorizer({"principalId": "x"})), ("/pets/7", {"authorization": "t"})
    )
    assert response.status_code == 500


def test_same_token_is_served_from_the_cache_and_a_new_one_reinvokes() -> None:
    invoker = ScriptedAuthorizer()
    app = rest_app(invoker)
    responses = send(
        app,
        ("/pets/7", {"authorization": "a"}),
        ("/pets/8", {"authorization": "a"}),  # cached policy, evaluated against a new ARN
        ("/pets/7", {"authorization": "b"}),
    )
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert [c["authorizationToken"] for c in invoker.auth_calls()] == ["a", "b"]


def test_cached_answers_expire_after_the_ttl() -> None:
    invoker = ScriptedAuthorizer()
    app = rest_app(invoker, dataclasses.replace(TOKEN, ttl_s=60))
    clock = Monotonic()
    assert app.authorizers is not None
    app.authorizers._monotonic = clock  # drive the result cache's clock
    send(app, ("/pets/7", {"authorization": "a"}))
    clock.now += 59
    send(app, ("/pets/7", {"authorization": "a"}))
    clock.now += 2
    send(app, ("/pets/7", {"authorization": "a"}))
    assert len(invoker.auth_calls()) == 2


def test_ttl_zero_invokes_every_time() -> None:
    invoker = ScriptedAuthorizer()
    app = rest_app(invoker, dataclasses.replace(TOKEN, ttl_s=0))
    send(app, ("/pets/7", {"authorization": "a"}), ("/pets/7", {"authorization": "a"}))
    assert len(invoker.auth_calls()) == 2


def test_validation_expression_refuses_without_invoking() -> None:
    invoker = ScriptedAuthorizer()
    app = rest_app(invoker, dataclasses.replace(TOKEN, validation_expression=r"Bearer \w+"))
    bad, good = send(
        app, ("/pets/7", {"authorization": "nope!"}), ("/pets/7", {"authorization": "Bearer ok"})
    )
    assert (bad.status_code, good.status_code) == (401, 200)
    assert len(invoker.auth_calls()) == 1


def test_rest_request_authorizer_needs_every_identity_source() -> None:
    invoker = ScriptedAuthorizer()
    app = rest_app(invoker, REQUEST_REST)
    missing, present = send(app, ("/pets/7", {"x-key": "k"}), ("/pets/7?q=1", {"x-key": "k"}))
    assert (missing.status_code, present.status_code) == (401, 200)
    assert invoker.auth_calls()[0]["type"] == "REQUEST"


def test_http_simple_response_grants_with_context_under_lambda() -> None:
    invoker = ScriptedAuthorizer({"isAuthorized": True, "context": {"user": "u", "n": 1}})
    (response,) = send(http_app(invoker), ("/pets/7", {"x-key": "k"}))
    assert response.status_code == 200
    assert response.json()["authorizer"] == {"lambda": {"user": "u", "n": 1}}


def test_http_simple_response_false_is_403_forbidden() -> None:
    invoker = ScriptedAuthorizer({"isAuthorized": False})
    (response,) = send(http_app(invoker), ("/pets/7", {"x-key": "k"}))
    assert (response.status_code, response.json()) == (403, {"message": "Forbidden"})


def test_http_missing_identity_is_401_and_errors_are_500() -> None:
    invoker = ScriptedAuthorizer(error_message="boom")
    missing, crashed = send(http_app(invoker), ("/pets/7", {}), ("/pets/7", {"x-key": "k"}))
    assert (missing.status_code, missing.json()) == (401, {"message": "Unauthorized"})
    assert (crashed.status_code, crashed.json()) == (500, {"message": "Internal Server Error"})


def test_http_v1_authorizer_uses_iam_policies() -> None:
    invoker = ScriptedAuthorizer(allow(context={"k": "v"}))
    (response,) = send(http_app(invoker, HTTP_V1), ("/pets/7", {"x-key": "k"}))
    assert response.status_code == 200
    assert response.json()["authorizer"] == {"lambda": {"k": "v"}}
    assert invoker.auth_calls()[0]["methodArn"].startswith("arn:aws:execute-api:")
