"""The admin port's deploy API: artifacts, deployments, rollbacks (``overcast deploy`` speaks it).

Every request is SigV4-signed by an overcast key (``access``); the actions are
``overcast:UploadArtifact``, ``overcast:Deploy``, ``overcast:Rollback``,
``overcast:ListDeployments`` and ``overcast:GetDeployment``, on the resource
``arn:aws:overcast:<region>:<account>:stage/<stage>`` — so a deployer key limited to
``dev`` cannot touch ``prod``. Errors use the rest-json shape the Lambda API uses.

=========================================  ==========================================
``POST /overcast/artifacts/missing``       ``{"Digests": [...]}`` → ``{"Missing": [...]}``
``PUT  /overcast/artifacts/<sha256>``      the artifact's bytes → 201 (see below)
``GET  /overcast/stages``                  stages, their stacks' current deployments, hosts
``GET  /overcast/alarms``                  every alarm and budget with its state
``POST /overcast/alarms``                  define an alarm (PutMetricAlarm's fields + Stage)
``DELETE /overcast/alarms/<name>``         delete a defined alarm
``POST /overcast/stages/<s>/deployments``  a deploy request (its ``stack``) → 202, the deployment
``GET  /overcast/stages/<s>/deployments``  the stage's history (``?stack=``), newest first
``GET  /overcast/stages/<s>/deployments/<id>``  one deployment, with live weights
``POST /overcast/stages/<s>/rollback``     → 202 and the rollback deployment (``?stack=``)
``GET  /overcast/stages/<s>/stacks``       the stage's stacks: current deployment, base path
``DELETE /overcast/stages/<s>/stacks/<k>`` take a stack out of the stage (its history stays)
``GET  /overcast/stages/<s>/budget``       spend against the stage's budget cap
``POST /overcast/stages/<s>/budget/lift``  lift the cap until the period ends (admin)
=========================================  ==========================================

A request is refused before its body is read whenever its head suffices: an unknown
key, a bad or stale signature, a role that may not act, a Content-Length over the
route's cap. The signature covers the body's sha256, which a request may declare in a
signed ``x-amz-content-sha256`` (``overcast deploy`` always does; an artifact upload
must, and its hash must be the artifact's name): then the signature is checked on the
head, and the body against the declared hash as it arrives. An artifact is streamed to
a temporary file beside its final place, never held in memory, and published by a
rename once its sha256 matches; at most ``MAX_CONCURRENT_UPLOADS`` run at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import parse_qs, unquote

import msgspec
import orjson

from overcast.control.access import (
    AccessControl,
    Denied,
    content_length,
    declares_payload,
    stage_resource,
)
from overcast.control.access_keys import AccessKey
from overcast.control.alarm_book import AlarmBook
from overcast.control.alarm_watch import AlarmRecord
from overcast.control.asgi_types import Receive, Scope, Send, read_body, send_response
from overcast.control.code_store import CodeStoreError, is_digest
from overcast.control.deploy_store import DEFAULT_STACK
from overcast.control.deployer import Deployer, DeployError
from overcast.control.sigv4 import PAYLOAD_MISMATCH_MESSAGE
from overcast.control.write_failures import is_write_failure, write_failure
from overcast.errors import OvercastError
from overcast.observe.alarm_specs import TemplateAlarm
from overcast.observe.spend import SpendMeter, stack_cap_key
from overcast.storage.artifacts import ArtifactTooLargeError

PREFIX = "/overcast/"
MAX_ARTIFACT_BYTES = 250 * 1024 * 1024
MAX_REQUEST_BYTES = 16 * 1024 * 1024
#: artifact uploads in progress at once on a platform; one more is answered 429 with
#: Retry-After (``overcast deploy`` waits and retries): each holds a connection, a
#: temporary file of up to MAX_ARTIFACT_BYTES and a body-read timeout's worth of time
MAX_CONCURRENT_UPLOADS = 4
UPLOAD_RETRY_AFTER_S = 1

_ARTIFACT = re.compile(r"^/overcast/artifacts/([0-9a-f]{64})$")
_DEPLOYMENTS = re.compile(r"^/overcast/stages/([A-Za-z_][A-Za-z0-9_]*)/deployments$")
_DEPLOYMENT = re.compile(r"^/overcast/stages/([A-Za-z_][A-Za-z0-9_]*)/deployments/(d-[A-Z0-9]+)$")
_ROLLBACK = re.compile(r"^/overcast/stages/([A-Za-z_][A-Za-z0-9_]*)/rollback$")
_STACKS = re.compile(r"^/overcast/stages/([A-Za-z_][A-Za-z0-9_]*)/stacks$")
_STACK = re.compile(r"^/overcast/stages/([A-Za-z_][A-Za-z0-9_]*)/stacks/([A-Za-z][-A-Za-z0-9]*)$")
_ALARM = re.compile(r"^/overcast/alarms/([^/]+)$")
_BUDGET = re.compile(r"^/overcast/stages/([A-Za-z_][A-Za-z0-9_]*)/budget(/lift)?$")
_JSON = (b"content-type", b"application/json")


class _Missing(msgspec.Struct, forbid_unknown_fields=True):
    Digests: list[str]


class _StackOnly(msgspec.Struct):
    """The one field of a deploy request authorization needs (the rest is the deploy's)."""

    stack: str = ""


class DeployApi:
    """Serves ``/overcast/`` on the admin port."""

    def __init__(
        self,
        deployer: Deployer,
        access: AccessControl,
        *,
        region: str,
        account_id: str,
        hosts: Callable[[], Mapping[str, str]],
        spend: SpendMeter | None = None,
        alarms: Callable[[], Sequence[AlarmRecord]] | None = None,
        alarm_book: AlarmBook | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._deployer = deployer
        self._alarms = alarms
        self._alarm_book = alarm_book
        self._spend = spend
        self._clock = clock
        self._access = access
        self._region = region
        self._account_id = account_id
        self._hosts = hosts
        self._uploads = 0

    @staticmethod
    def handles(path: str) -> bool:
        return path.startswith(PREFIX)

    def stage_arn(self, stage: str, stack: str | None = None) -> str:
        return stage_resource(self._region, self._account_id, stage, stack)

    def _stack_resource(
        self, action: str, path: str, body: bytes, stack: str, resource: str
    ) -> str:
        """The resource of a request that acts on one stack: the stack's own ARN."""
        if action == "overcast:Deploy":
            try:
                named = msgspec.json.decode(body, type=_StackOnly).stack
            except msgspec.DecodeError:
                return resource  # the deploy itself answers the malformed body
            match = _DEPLOYMENTS.match(path)
            return self.stage_arn(match.group(1), named or DEFAULT_STACK) if match else resource
        if action == "overcast:Rollback" and (match := _ROLLBACK.match(path)):
            stage = match.group(1)
            try:
                return self.stage_arn(stage, stack or self._only_stack(stage) or DEFAULT_STACK)
            except DeployError:
                return resource
        if action == "overcast:DeleteStack" and (match := _STACK.match(path)):
            return self.stage_arn(match.group(1), match.group(2))
        if stack and action == "overcast:ListDeployments" and (match := _DEPLOYMENTS.match(path)):
            return self.stage_arn(match.group(1), stack)
        return resource

    def _route(self, method: str, path: str) -> tuple[str, str, int] | None:
        """(action, resource, body limit) of a request, or None for an unknown one."""
        if path == "/overcast/artifacts/missing" and method == "POST":
            return "overcast:UploadArtifact", "*", MAX_REQUEST_BYTES
        if _ARTIFACT.match(path) and method == "PUT":
            return "overcast:UploadArtifact", "*", MAX_ARTIFACT_BYTES
        if path == "/overcast/stages" and method == "GET":
            return "overcast:ListDeployments", "*", 0
        if path == "/overcast/alarms" and method == "GET":
            return "overcast:ListAlarms", "*", 0
        if path == "/overcast/alarms" and method == "POST":
            return "overcast:PutMetricAlarm", "*", MAX_REQUEST_BYTES
        if (match := _ALARM.match(path)) and method == "DELETE":
            return "overcast:DeleteAlarms", "*", 0
        if match := _DEPLOYMENTS.match(path):
            if method == "POST":
                return "overcast:Deploy", self.stage_arn(match.group(1)), MAX_REQUEST_BYTES
            if method == "GET":
                return "overcast:ListDeployments", self.stage_arn(match.group(1)), 0
        if (match := _DEPLOYMENT.match(path)) and method == "GET":
            return "overcast:GetDeployment", self.stage_arn(match.group(1)), 0
        if (match := _ROLLBACK.match(path)) and method == "POST":
            return "overcast:Rollback", self.stage_arn(match.group(1)), 0
        if (match := _STACKS.match(path)) and method == "GET":
            return "overcast:ListDeployments", self.stage_arn(match.group(1)), 0
        if (match := _STACK.match(path)) and method == "DELETE":
            return "overcast:DeleteStack", self.stage_arn(match.group(1)), 0
        if match := _BUDGET.match(path):
            arn = self.stage_arn(match.group(1))
            if match.group(2) and method == "POST":
                return "overcast:LiftBudgetCap", arn, 0
            if not match.group(2) and method == "GET":
                return "overcast:GetBudget", arn, 0
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        path: str = scope["path"]
        route = self._route(method, path)
        if route is None:
            await Denied(404, "UnknownOperationException", "Unknown operation").send(send)
            return
        action, resource, limit = route
        limit = max(limit, 1)
        # Everything the head can settle is settled before a byte of the body is read:
        # the key, the signature (when the body's hash is declared), the role, the size.
        early = self._access.precheck(scope)
        if early is not None:
            await early.send(send)
            return
        announced = content_length(scope)
        if announced is not None and announced > limit:
            await _too_large(limit).send(send)
            return
        artifact = _ARTIFACT.match(path)
        if artifact is not None or declares_payload(scope):
            checked = self._access.authenticate_head(scope)
            if isinstance(checked, Denied):
                await checked.send(send)
                return
            who, payload_hash = checked
            # The stack a request acts on may be named in its body: checked again below.
            denied = self._access.authorize(who, action, resource)
            if denied is not None:
                await denied.send(send)
                return
            if artifact is not None:
                await self._upload(artifact.group(1), payload_hash, receive, send)
                return
            body = await read_body(receive, limit)
            if body is None:
                await _too_large(limit).send(send)
                return
            if not hmac.compare_digest(hashlib.sha256(body).hexdigest(), payload_hash):
                await Denied(403, "InvalidSignatureException", PAYLOAD_MISMATCH_MESSAGE).send(send)
                return
        else:
            body = await read_body(receive, limit)
            if body is None:
                await _too_large(limit).send(send)
                return
            authenticated = self._access.authenticate(scope, body)
            if isinstance(authenticated, Denied):
                await authenticated.send(send)
                return
            who = authenticated
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        stack = query.get("stack", [""])[0]
        resource = self._stack_resource(action, path, body, stack, resource)
        denied = self._access.authorize(who, action, resource)
        if denied is not None:
            await denied.send(send)
            return
        try:
            status, answer = await self._serve(method, path, body, who, stack)
        except (OvercastError, OSError, sqlite3.Error) as exc:
            await _failure(exc, action).send(send)
            return
        await send_response(send, status, orjson.dumps(answer), [_JSON])

    async def _upload(self, digest: str, declared: str, receive: Receive, send: Send) -> None:
        """Stream an artifact to disk, hashing it, within the bound on concurrent uploads."""
        if declared != digest:
            await Denied(
                400,
                "InvalidParameterValueException",
                f"x-amz-content-sha256 {declared} is not the artifact's name {digest}: "
                "an artifact is named by the sha256 of its bytes",
            ).send(send)
            return
        if self._uploads >= MAX_CONCURRENT_UPLOADS:
            await Denied(
                429,
                "TooManyRequestsException",
                f"{MAX_CONCURRENT_UPLOADS} artifact uploads are in progress; "
                f"retry after {UPLOAD_RETRY_AFTER_S} s",
                headers=((b"retry-after", str(UPLOAD_RETRY_AFTER_S).encode()),),
            ).send(send)
            return
        self._uploads += 1
        try:
            with self._deployer.code.upload(digest, MAX_ARTIFACT_BYTES) as upload:
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return  # nobody to answer; the staged bytes are dropped
                    upload.write(message.get("body", b""))
                    if not message.get("more_body", False):
                        break
                matches = hmac.compare_digest(upload.sha256, declared)
                if matches:
                    # fsync and rename off the event loop: other requests go on meanwhile
                    await asyncio.to_thread(upload.commit)
                size = upload.size
            if not matches:
                # Answered only once the with block has dropped the staged bytes, so a
                # client that reads the 403 never finds them.
                await Denied(403, "InvalidSignatureException", PAYLOAD_MISMATCH_MESSAGE).send(send)
                return
        except ArtifactTooLargeError:
            await _too_large(MAX_ARTIFACT_BYTES).send(send)
            return
        except (OvercastError, OSError) as exc:
            # The staged bytes are gone (the upload's with block): nothing half-stored.
            await _failure(exc, "overcast:UploadArtifact", digest).send(send)
            return
        finally:
            self._uploads -= 1
        await send_response(send, 201, orjson.dumps({"Digest": digest, "Size": size}), [_JSON])

    async def _serve(
        self, method: str, path: str, body: bytes, who: AccessKey, stack: str = ""
    ) -> tuple[int, object]:
        """Answer one authorized request; lists show only what ``who`` may see (the
        stages and stacks it is limited to, everything when it is not)."""

        def visible(stage: str | None) -> bool:
            return not who.stages or stage is None or stage in who.stages

        def own(stack_name: str) -> bool:
            return not who.stacks or stack_name in who.stacks

        deployer = self._deployer
        if path == "/overcast/artifacts/missing":
            try:
                digests = msgspec.json.decode(body, type=_Missing).Digests
            except msgspec.DecodeError as exc:
                raise DeployError(f"invalid request: {exc}") from exc
            bad = [d for d in digests if not is_digest(d)]
            if bad:
                raise DeployError(f"not sha256 digests: {', '.join(bad[:5])}")
            return 200, {"Missing": deployer.code.missing(digests)}
        if path == "/overcast/stages":
            stages = [s for s in self._stages(own) if visible(str(s["Stage"]))]
            return 200, {"Stages": stages}
        if path == "/overcast/alarms" and method == "POST":
            return 201, {"AlarmName": self._put_alarm(body).name}
        if match := _ALARM.match(path):
            if self._alarm_book is None:
                raise DeployError("alarms are off (OVERCAST_METRICS=off)", status=409)
            try:
                self._alarm_book.delete(unquote(match.group(1)))
            except OvercastError as exc:
                raise DeployError(str(exc), status=404, code="ResourceNotFound") from exc
            return 200, {}
        if path == "/overcast/alarms":
            records = self._alarms() if self._alarms is not None else []
            return 200, {
                "Alarms": [
                    {
                        "AlarmName": r.name,
                        "Stage": r.stage,
                        "StateValue": str(r.state),
                        "StateReason": r.reason,
                        "StateUpdatedTimestamp": r.updated,
                        "Description": r.description,
                    }
                    for r in records
                    if visible(r.stage)
                ]
            }
        if match := _DEPLOYMENTS.match(path):
            stage = match.group(1)
            if method == "POST":
                record = await deployer.deploy(stage, body)
                return 202, record.summary()
            deployer.stage_named(stage)  # 404 for an unknown stage
            history = [d for d in deployer.store.history(stage, stack or None) if own(d.stack)]
            currents = {k: v for k, v in deployer.store.stacks(stage).items() if own(k[1])}
            # "Current": the named stack's, or the stage's when it runs one stack.
            if stack:
                current = currents.get((stage, stack))
            else:
                current = next(iter(currents.values())) if len(currents) == 1 else None
            return 200, {
                "Deployments": [d.summary() for d in history],
                "Current": current,
                "CurrentByStack": {k: v for (_, k), v in currents.items()},
            }
        if match := _DEPLOYMENT.match(path):
            stage, deployment_id = match.group(1), match.group(2)
            found = deployer.store.get(deployment_id)
            if found is None or found.stage != stage or not own(found.stack):
                raise DeployError(
                    f"no deployment {deployment_id} on stage {stage}",
                    status=404,
                    code="DeploymentDoesNotExistException",
                )
            answer = found.summary()
            answer["Weights"] = deployer.progress.get(deployment_id, {})
            return 200, answer
        if match := _ROLLBACK.match(path):
            stage = match.group(1)
            record = await deployer.rollback(stage, stack or self._only_stack(stage))
            return 202, record.summary()
        if match := _STACKS.match(path):
            return 200, {"Stacks": self._stacks(match.group(1), own)}
        if match := _STACK.match(path):
            record = await deployer.delete(match.group(1), match.group(2))
            return 200, record.summary()
        if match := _BUDGET.match(path):
            return 200, self._budget(match.group(1), lift=bool(match.group(2)), stack=stack)
        raise DeployError("Unknown operation", status=404, code="UnknownOperationException")

    def _put_alarm(self, body: bytes) -> TemplateAlarm:
        if self._alarm_book is None:
            raise DeployError("alarms are off (OVERCAST_METRICS=off)", status=409)
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise DeployError(f"invalid JSON: {exc}", code="InvalidParameterInput") from exc
        if not isinstance(parsed, dict):
            raise DeployError("the body must be a JSON object", code="InvalidParameterInput")
        try:
            return self._alarm_book.put(parsed)
        except OvercastError as exc:
            message = str(exc) + (f" ({exc.hint})" if exc.hint else "")
            raise DeployError(message, code="InvalidParameterValue") from exc

    def _budget(self, stage: str, *, lift: bool, stack: str = "") -> dict[str, object]:
        """The stage's cap (or, with ``stack``, the stack's own: ``dev/stack:auth``)."""
        self._deployer.stage_named(stage)  # 404 for an unknown stage
        key = stack_cap_key(stage, stack) if stack else stage
        spend = self._spend
        if spend is None:
            raise DeployError(
                "spend is not metered on this platform (OVERCAST_METRICS=off)",
                status=409,
                code="ResourceConflictException",
            )
        now = self._clock()
        lifted_until = None
        if lift:
            try:
                lifted_until = spend.lift(key, now)
            except OvercastError as exc:
                raise DeployError(str(exc), status=409, code="ResourceConflictException") from exc
        status = spend.status(key, now)
        return {
            "Stage": stage,
            "Stack": stack or None,
            "Cap": str(status.cap.limit) if status.cap is not None else None,
            "Period": status.cap.period.value if status.cap is not None else None,
            "Spent": str(status.spent),
            "Reserved": str(status.reserved),
            "PeriodStart": status.period_start,
            "Reached": status.reached,
            "Lifted": status.lifted,
            "LiftedUntil": lifted_until,
        }

    def _stages(self, own: Callable[[str], bool]) -> list[dict[str, object]]:
        hosts = self._hosts()
        out: list[dict[str, object]] = []
        for name, stage in self._deployer.stages.items():
            out.append(
                {
                    "Stage": name,
                    "Stacks": self._stacks(name, own),
                    "Busy": stage.busy,
                    "Hosts": sorted(h for h, s in hosts.items() if s == name),
                }
            )
        return out

    def _only_stack(self, stage_name: str) -> str:
        """The stage's one stack (what a request naming none means), else a clear error."""
        names = sorted(live.record.stack for live in self._deployer.stage_named(stage_name).lives())
        if len(names) > 1:
            raise DeployError(
                f"stage {stage_name} runs stacks {', '.join(names)}: name one",
                hint="add ?stack=NAME (`overcast rollback --stack NAME`)",
            )
        return names[0] if names else ""

    def _stacks(
        self, stage_name: str, own: Callable[[str], bool] = lambda _: True
    ) -> list[dict[str, object]]:
        stage = self._deployer.stage_named(stage_name)
        return [
            {
                "Stack": live.record.stack,
                "Current": live.record.id,
                "Versions": dict(live.record.versions),
                "BasePath": live.base_path,
                "Functions": sorted(spec.name for spec in live.model.functions.values()),
            }
            for live in sorted(stage.lives(), key=lambda lv: lv.record.stack)
            if own(live.record.stack)
        ]


def _too_large(limit: int) -> Denied:
    return Denied(413, "RequestTooLargeException", f"Request must be smaller than {limit} bytes")


# What a request was doing, for the one-line answer when the platform cannot write.
_DOING = {
    "overcast:UploadArtifact": "store the artifact",
    "overcast:Deploy": "start the deployment",
    "overcast:Rollback": "start the rollback",
    "overcast:DeleteStack": "delete the stack",
    "overcast:PutMetricAlarm": "store the alarm",
    "overcast:DeleteAlarms": "delete the alarm",
    "overcast:LiftBudgetCap": "lift the budget cap",
}


def _failure(exc: BaseException, action: str, digest: str = "") -> Denied:
    """The answer to a request whose serving raised ``exc``: one line, AWS's shape."""
    if is_write_failure(exc):
        doing = _DOING.get(action, "answer")
        if digest:
            doing += f" {digest[:12]}"
        outcome = {
            "overcast:UploadArtifact": "nothing was stored",
            "overcast:Deploy": "nothing was deployed",
            "overcast:Rollback": "nothing was rolled back",
        }.get(action, "nothing was changed")
        return write_failure(exc, doing, outcome)
    if isinstance(exc, DeployError):
        return Denied(exc.status, exc.code, str(exc) + (f" ({exc.hint})" if exc.hint else ""))
    if isinstance(exc, CodeStoreError):
        return Denied(400, "InvalidParameterValueException", str(exc))
    return Denied(500, "ServiceException", str(exc).splitlines()[0] if str(exc) else repr(exc))
