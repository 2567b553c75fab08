"""Deploys, traffic shifts and rollbacks of a platform's stages.

A deploy goes: check every artifact the request names is stored → rebuild the app
from the template and the stored code → publish function versions (a new one only
where code or configuration changed) → record the deployment → start the new
runtime (dependencies, zygotes, provisioned instances) → sync the static site and
invalidate what changed → switch the stage's alias → for functions with
``AutoPublishAlias`` + ``DeploymentPreference``, shift their traffic step by step
while watching the preference's alarms → retire the deployment that was replaced.
An alarm in ALARM during a shift sends the stage back to the old deployment.

A rollback is a deployment of the previous successful deployment's request and
versions, all at once. On start, each stage's current deployment is brought back.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import orjson

from overcast.control.alias_router import AliasRouter, FunctionRoute, Target
from overcast.control.app_loading import runtime_functions
from overcast.control.code_store import CodeStore, CodeStoreError, is_digest
from overcast.control.deploy_alarms import (
    DeployAlarmError,
    alarm_state,
    watched_alarm,
)
from overcast.control.deploy_bundle import DeployRequest, static_settings
from overcast.control.deploy_store import (
    DEFAULT_STACK,
    DELETE,
    FAILED,
    ROLLED_BACK,
    SUCCEEDED,
    Deployment,
    DeployStore,
)
from overcast.control.deployment_preference import (
    DeploymentPreferenceError,
    Preference,
    parse_preference,
)
from overcast.control.function_credentials import FunctionCredentials
from overcast.control.local_edge import BucketOrigin, edge_config_of
from overcast.control.rollout import Rollout, RolloutState, alarm_fired, start_rollout, tick
from overcast.control.stacks import StackNameError, base_path, stack_name
from overcast.control.stage import LiveDeployment, StackSlot, Stage
from overcast.control.static_sync import sync_static
from overcast.edge import EdgeApp, EdgeConfig, StageOrigins
from overcast.edge.cache import ResponseCache
from overcast.edge.hosts import PROD_STAGE
from overcast.errors import OvercastError
from overcast.gateway import ApiKeyStore, ClientLimit, GatewayApp, UsageLedger
from overcast.observe.alarm_specs import TemplateAlarm
from overcast.observe.alarms import AlarmState
from overcast.observe.pricing import GatewayKind, PriceBook, worst_case_cost
from overcast.observe.recorder import Metrics
from overcast.observe.spend import SpendMeter
from overcast.runtime import Runtime, RuntimeConfig
from overcast.runtime.sandbox import SandboxConfig
from overcast.secrets import SecretNotFoundError
from overcast.secrets.references import Lookup
from overcast.storage import Bucket, open_bucket
from overcast.template import AppModel, TemplateError, load_template
from overcast.template.yaml_loader import parse_yaml

logger = logging.getLogger("overcast.control.deployer")


class DeployError(OvercastError):
    """A deploy or rollback request that cannot be carried out, with its HTTP answer."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        code: str = "InvalidParameterValueException",
        hint: str = "",
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code


@dataclass(frozen=True, slots=True)
class Prepared:
    """An app rebuilt from a deploy request, ready to run."""

    request: DeployRequest
    model: AppModel
    code_sha: Mapping[str, str]  # function name → code digest
    fingerprints: Mapping[str, str]  # function name → version fingerprint
    preferences: Mapping[str, Preference]  # function name → its shift (gradual ones only)
    alarms: Mapping[str, tuple[TemplateAlarm, ...]]  # function name → alarms watched
    edge: EdgeConfig | None
    static_bucket: str | None


@dataclass(frozen=True, slots=True)
class DeployerSettings:
    """What the deployer needs to know about its platform."""

    state_dir: Path
    domain: str | None = None
    region: str = "us-east-1"
    account_id: str = "123456789012"
    node_concurrency: int = 64
    stage_concurrency: Mapping[str, int] = field(default_factory=dict)
    idle_keepalive_s: float = 600.0
    tick_s: float = 0.5


class Deployer:
    """Owns every deployment task of a platform."""

    def __init__(
        self,
        settings: DeployerSettings,
        store: DeployStore,
        code: CodeStore,
        stages: Mapping[str, Stage],
        edge_cache: ResponseCache,
        *,
        lookup: Callable[[], Lookup],
        on_switch: Callable[[], None] = lambda: None,
        extra_hosts: Callable[[str], Mapping[str, str]] = lambda stage: {},
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
        api_keys: ApiKeyStore | None = None,
        client_limit: ClientLimit | None = None,
        spend: SpendMeter | None = None,
    ) -> None:
        self.settings = settings
        #: the sandbox of every runtime it starts (the platform sets it once its ports
        #: are bound: functions reach them from inside); None runs functions unisolated
        self.sandbox: SandboxConfig | None = None
        #: issues the functions of a (stage, stack) their own credentials (set by the
        #: platform once its admin port is bound); None: functions get none
        self.credentials: Callable[[str, str], FunctionCredentials] | None = None
        #: spend against budget caps (functions with a cap of their own are checked here)
        self.spend = spend
        #: creates a deployment's own resources (its template's queues) before it starts,
        #: or raises DeployError (the platform sets it); None: nothing to create
        self.provision: Callable[[str, str, AppModel], Awaitable[None]] | None = None
        #: deletes a deleted stack's own resources (its queues), as DeleteStack does
        self.release: Callable[[str, str, AppModel], Awaitable[None]] | None = None
        #: usage-plan keys every stage's gateways check, and per-client rate limits
        self.api_keys = api_keys
        self.client_limit = client_limit
        # One usage ledger per stage, kept across deployments: a redeploy must not
        # hand every key a fresh quota.
        self._usage: dict[str, UsageLedger] = {}
        #: where every deployment's runtime and gateway record (None: not recorded)
        self.metrics = metrics
        self.store = store
        self.code = code
        self.stages = stages
        self.edge_cache = edge_cache
        self._lookup = lookup
        self._on_switch = on_switch
        #: hosts the platform routes to a stage besides its platform-domain names
        self.extra_hosts = extra_hosts
        self._clock = clock
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._retiring: set[asyncio.Task[None]] = set()
        #: live traffic weights of the deployments being shifted: id → function → weight
        self.progress: dict[str, dict[str, float]] = {}
        self._buckets: dict[tuple[str, str, str], Bucket] = {}

    # --- requests --------------------------------------------------------------------

    async def deploy(self, stage_name: str, body: bytes) -> Deployment:
        """Start deploying ``body`` (a JSON :class:`DeployRequest`) to a stack of ``stage_name``."""
        stage = self.stage_named(stage_name)
        try:
            request = msgspec.json.decode(body, type=DeployRequest)
        except msgspec.DecodeError as exc:
            raise DeployError(
                f"invalid deploy request: {exc}", code="InvalidRequestContentException"
            ) from exc
        stack = self._stack_name(request.stack)
        base_path = self._base_path(request.base_path)
        slot = self._claim(stage, stack)
        try:
            owner = stage.base_path_owner(base_path, but=stack)
            if owner is not None:
                where = f"base path /{base_path}" if base_path else "the root (/)"
                raise DeployError(
                    f"stack {stack} cannot be served at {where} of stage {stage_name}: stack "
                    f"{owner} is",
                    status=409,
                    code="ResourceConflictException",
                    hint=f"give stack {stack} another base path (`overcast deploy --base-path "
                    f"NAME`); it is reachable at its own host {stack}.<stage host> anyway",
                )
            prepared = await asyncio.to_thread(self._prepare, stage_name, stack, request)
            self._check_function_names(stage, stack, prepared.model)
            if self.provision is not None:
                await self.provision(stage_name, stack, prepared.model)
            versions = {
                name: self.store.publish(stack, name, stage_name, prepared.fingerprints[name], sha)
                for name, sha in prepared.code_sha.items()
            }
            record = self.store.create(
                stage_name, stack, body, versions, kind="deploy", message=request.message
            )
        except BaseException:
            slot.busy = None
            raise
        self._start(stage, slot, record, prepared, gradual=True)
        return record

    async def rollback(self, stage_name: str, stack: str = "") -> Deployment:
        """Start returning a stack of ``stage_name`` to its previous successful deployment."""
        stage = self.stage_named(stage_name)
        stack = self._stack_name(stack)
        slot = self._claim(stage, stack)
        try:
            previous = self.store.previous(stage_name, stack)
            if previous is None:
                raise DeployError(
                    f"stack {stack} of stage {stage_name} has no earlier deployment to roll "
                    "back to",
                    status=409,
                    code="ResourceConflictException",
                    hint="`overcast deployments --stage STAGE` lists its history",
                )
            request = msgspec.json.decode(previous.request, type=DeployRequest)
            prepared = await asyncio.to_thread(self._prepare, stage_name, stack, request)
            record = self.store.create(
                stage_name,
                stack,
                previous.request,
                previous.versions,
                kind="rollback",
                message=f"rollback to {previous.id}",
            )
        except BaseException:
            slot.busy = None
            raise
        self._start(stage, slot, record, prepared, gradual=False)
        return record

    async def delete(self, stage_name: str, stack: str) -> Deployment:
        """Take a stack out of ``stage_name`` (CloudFormation's DeleteStack); history stays."""
        stage = self.stage_named(stage_name)
        stack = self._stack_name(stack)
        slot = self._claim(stage, stack)
        try:
            if slot.current is None and self.store.current(stage_name, stack) is None:
                raise DeployError(
                    f"stage {stage_name} has no stack {stack}",
                    status=404,
                    code="ResourceNotFoundException",
                    hint=f"`overcast stacks --stage {stage_name}` lists them",
                )
            record = self.store.create(
                stage_name, stack, b"", {}, kind=DELETE, message=f"delete stack {stack}"
            )
            old = stage.switch(stack, None)
            self._on_switch()
            self.store.finish(record.id, SUCCEEDED)
            if old is not None:
                self._retire(old)
                if self.release is not None:
                    await self.release(stage_name, stack, old.model)
        finally:
            slot.busy = None
        return record

    async def restore(self) -> None:
        """Bring back every stack's current deployment (after a restart)."""
        abandoned = self.store.abandon_unfinished()
        if abandoned:
            logger.warning("%d deployment(s) were cut short by the last stop", abandoned)
        for stage_name, stack in self.store.stacks():
            stage = self.stages.get(stage_name)
            record = self.store.current(stage_name, stack)
            if stage is None or record is None:
                continue
            try:
                request = msgspec.json.decode(record.request, type=DeployRequest)
                prepared = await asyncio.to_thread(self._prepare, stage_name, stack, request)
                live = await self._build(stage_name, record, prepared, None)
            except (OvercastError, msgspec.DecodeError) as exc:
                logger.error(
                    "stage %s, stack %s: cannot restore deployment %s: %s",
                    stage_name,
                    stack,
                    record.id,
                    exc,
                )
                continue
            stage.switch(stack, live)
        self._on_switch()

    async def wait(self, deployment_id: str) -> None:
        """Wait for a deployment's task to end (tests, and `overcast deploy --wait`)."""
        task = self._tasks.get(deployment_id)
        if task is not None:
            await asyncio.shield(task)

    async def aclose(self) -> None:
        """Stop every shift and retire every live deployment."""
        for task in list(self._tasks.values()):
            task.cancel()
        for task in list(self._tasks.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)
        for stage in self.stages.values():
            for stack in list(stage.stacks):
                live = stage.switch(stack, None)
                if live is not None:
                    await live.retire(timeout_s=5.0)

    # --- preparing -------------------------------------------------------------------

    def stage_named(self, name: str) -> Stage:
        """The stage called ``name``, or a 404 :class:`DeployError`."""
        stage = self.stages.get(name)
        if stage is None:
            raise DeployError(
                f"no stage {name!r} on this platform (stages: {', '.join(self.stages)})",
                status=404,
                code="ResourceNotFoundException",
                hint="start `overcast serve --stages ...` with it",
            )
        return stage

    @staticmethod
    def _claim(stage: Stage, stack: str) -> StackSlot:
        slot = stage.slot(stack)
        if slot.busy is not None:
            raise DeployError(
                f"a deployment of stack {stack} on stage {stage.name} is in progress ({slot.busy})",
                status=409,
                code="ResourceConflictException",
                hint="wait for it to finish (`overcast deployments --stage "
                f"{stage.name}`), then try again",
            )
        slot.busy = "starting"
        return slot

    @staticmethod
    def _stack_name(text: str) -> str:
        return _checked(stack_name, text)

    @staticmethod
    def _base_path(text: str) -> str:
        return _checked(base_path, text)

    @staticmethod
    def _check_function_names(stage: Stage, stack: str, model: AppModel) -> None:
        """A function name is the stage's: two stacks cannot both define one (as two
        CloudFormation stacks cannot both create a function of the same name)."""
        for live in stage.lives():
            if live.record.stack == stack:
                continue
            theirs = {spec.name for spec in live.model.functions.values()}
            shared = sorted(theirs & {spec.name for spec in model.functions.values()})
            if shared:
                raise DeployError(
                    f"stack {stack} defines function(s) {', '.join(shared)}, which stack "
                    f"{live.record.stack} of stage {stage.name} already runs",
                    status=409,
                    code="ResourceConflictException",
                    hint="give them another FunctionName in one of the templates",
                )

    def _prepare(self, stage: str, stack: str, request: DeployRequest) -> Prepared:
        """Rebuild the app a request describes (blocking: run it in a thread)."""
        digests = list(request.code.values()) + list((request.static or {}).values())
        bad = [d for d in digests if not is_digest(d)]
        if bad:
            raise DeployError(f"not sha256 digests: {', '.join(bad[:5])}")
        missing = self.code.missing(digests)
        if missing:
            raise DeployError(
                f"{len(missing)} artifact(s) are not uploaded: {', '.join(missing[:5])}",
                hint="upload them first (PUT /overcast/artifacts/<sha256>); `overcast deploy` does",
            )
        base = self.settings.state_dir / "apps" / stage / stack
        try:
            raw = parse_yaml(request.template, request.template_name)
            overrides = dict(request.parameter_overrides)
            declared = raw.get("Parameters") if isinstance(raw, Mapping) else None
            if isinstance(declared, Mapping):
                for name in ("Stage", "StageName", "Environment"):
                    if name in declared and name not in overrides:
                        overrides[name] = stage
            model = load_template(
                request.template,
                filename=f"{stage}:{request.template_name}",
                base_dir=str(base),
                parameter_overrides=overrides,
                stack_name=stack,
                # each stage's queues are its own, as each stage is its own stack on AWS
                physical_stack=f"{stack}-{stage}",
                region=self.settings.region,
                account_id=self.settings.account_id,
            )
        except TemplateError as exc:
            raise DeployError(str(exc), code="InvalidTemplateException", hint=exc.hint) from exc
        functions: dict[str, Any] = {}
        code_sha: dict[str, str] = {}
        for logical_id, spec in model.functions.items():
            relative = os.path.relpath(spec.code_dir, base)
            digest = request.code.get(relative)
            if digest is None:
                raise DeployError(
                    f"function {spec.name}: its CodeUri {relative!r} was not sent with the deploy",
                    hint="`overcast deploy APP_DIR` zips every CodeUri folder",
                )
            try:
                folder = self.code.code_dir(digest)
            except CodeStoreError as exc:
                raise DeployError(str(exc), hint=exc.hint) from exc
            functions[logical_id] = replace(spec, code_dir=str(folder))
            code_sha[spec.name] = digest
        model = replace(model, functions=functions)
        preferences: dict[str, Preference] = {}
        alarms: dict[str, tuple[TemplateAlarm, ...]] = {}
        for spec in model.functions.values():
            if spec.deployment_preference is None or spec.auto_publish_alias is None:
                continue
            try:
                preference = parse_preference(spec.deployment_preference)
            except DeploymentPreferenceError as exc:
                raise DeployError(f"function {spec.name}: {exc}", hint=exc.hint) from exc
            watched = []
            for alarm in preference.alarms:
                properties = model.alarms.get(alarm)
                if properties is None:
                    raise DeployError(
                        f"function {spec.name}: DeploymentPreference alarm {alarm!r} is not an "
                        "AWS::CloudWatch::Alarm of this template",
                        hint="declare it under Resources, or remove it from Alarms",
                    )
                try:
                    watched.append(watched_alarm(alarm, properties))
                except DeployAlarmError as exc:
                    raise DeployError(str(exc), hint=exc.hint) from exc
            preferences[spec.name] = preference
            alarms[spec.name] = tuple(watched)
        try:
            edge = edge_config_of(raw)
            static = static_settings(raw) if isinstance(raw, Mapping) else None
        except OvercastError as exc:
            raise DeployError(str(exc), hint=exc.hint) from exc
        if request.static is not None and static is None:
            raise DeployError(
                "the request has a static site but the template has no Metadata.overcast.static",
                hint="e.g. static: {bucket: WebBucket, source: ./web}",
            )
        if request.static is None and edge is not None and _routes_to_static(edge):
            # On a platform the static origin is the stage's bucket; without one every
            # request the edge sends there would be a 502, so refuse the deploy instead.
            raise DeployError(
                "the edge sends requests to the static origin but the app has no static site",
                hint="add Metadata.overcast.static: {bucket: WebBucket, source: ./public} and "
                "Resources: WebBucket: {Type: AWS::S3::Bucket} (edge.static_dir is for "
                "overcast up only)",
            )
        static_bucket = static.bucket if static is not None and request.static is not None else None
        fingerprints = {
            spec.name: _fingerprint(spec_fields(spec), code_sha[spec.name])
            for spec in model.functions.values()
        }
        return Prepared(
            request, model, code_sha, fingerprints, preferences, alarms, edge, static_bucket
        )

    # --- running ---------------------------------------------------------------------

    def _start(
        self,
        stage: Stage,
        slot: StackSlot,
        record: Deployment,
        prepared: Prepared,
        *,
        gradual: bool,
    ) -> None:
        slot.busy = record.id
        task = asyncio.get_running_loop().create_task(
            self._run(stage, slot, record, prepared, gradual), name=f"overcast-deploy-{record.id}"
        )
        self._tasks[record.id] = task

        def done(_: asyncio.Task[None]) -> None:
            self._tasks.pop(record.id, None)
            self.progress.pop(record.id, None)
            if slot.busy == record.id:
                slot.busy = None

        task.add_done_callback(done)

    async def _run(
        self, stage: Stage, slot: StackSlot, record: Deployment, prepared: Prepared, gradual: bool
    ) -> None:
        old = slot.current
        try:
            new = await self._build(stage.name, record, prepared, old if gradual else None)
        except (OvercastError, OSError) as exc:
            logger.error("deployment %s of %s failed: %s", record.id, stage.name, exc)
            self.store.finish(record.id, FAILED, str(exc))
            return
        except asyncio.CancelledError:
            self.store.finish(record.id, FAILED, "the platform stopped")
            raise
        except Exception as exc:
            # A bug here must cost this deployment, never the platform or the stage.
            logger.exception("deployment %s of %s failed", record.id, stage.name)
            self.store.finish(record.id, FAILED, f"internal error: {exc!r}")
            return
        try:
            await self._sync_static(stage.name, prepared, new)
        except OvercastError as exc:
            await new.retire(timeout_s=1.0)
            self.store.finish(record.id, FAILED, f"static site: {exc}")
            return
        rollouts = self._rollouts(new, old, prepared) if gradual else {}
        stage.switch(slot.name, new)
        self._on_switch()
        if rollouts:
            self.progress[record.id] = {name: 0.0 for name in rollouts}
            try:
                outcome, reason = await self._shift(record, new, rollouts, prepared)
            except asyncio.CancelledError:
                self.store.finish(record.id, FAILED, "the platform stopped during the shift")
                raise
            if outcome is not SUCCEEDED:
                stage.switch(slot.name, old)
                self._on_switch()
                if old is not None and old.static is not None:
                    with contextlib.suppress(OvercastError):
                        await self._sync_static(stage.name, replace_static(prepared, old), old)
                self._retire(new)
                self.store.finish(record.id, ROLLED_BACK, reason)
                logger.warning("deployment %s of %s rolled back: %s", record.id, stage.name, reason)
                return
        self.store.finish(record.id, SUCCEEDED)
        if old is not None:
            self._retire(old)

    def _rollouts(
        self, new: LiveDeployment, old: LiveDeployment | None, prepared: Prepared
    ) -> dict[str, Rollout]:
        """A rollout per function whose alias moves gradually to a new version."""
        if old is None:
            return {}
        rollouts = {}
        for name, preference in prepared.preferences.items():
            old_route = old.router.routes.get(name)
            new_version = str(new.record.versions[name])
            if old_route is None or old_route.primary.version == new_version:
                continue
            if preference.shift.interval_s <= 0:
                continue  # all at once
            rollouts[name] = start_rollout(preference, new_version, old_route.primary.version)
            new.router.routes = {
                **new.router.routes,
                name: FunctionRoute(
                    primary=old_route.primary, canary=new.router.routes[name].primary, weight=0.0
                ),
            }
        return rollouts

    async def _shift(
        self,
        record: Deployment,
        new: LiveDeployment,
        rollouts: dict[str, Rollout],
        prepared: Prepared,
    ) -> tuple[str, str]:
        states: dict[tuple[str, str], AlarmState] = {}
        while True:
            now = self._clock()
            for name in list(rollouts):
                rollout = tick(rollouts[name], now)
                if rollout.state is RolloutState.SHIFTING and rollout.started_at is not None:
                    outcomes = new.router.outcomes.get((name, rollout.new_version))
                    samples = list(outcomes.samples) if outcomes is not None else []
                    for alarm in prepared.alarms.get(name, ()):
                        key = (name, alarm.spec.name)
                        state = alarm_state(
                            alarm,
                            samples,
                            rollout.started_at,
                            now,
                            states.get(key, AlarmState.INSUFFICIENT_DATA),
                        )
                        states[key] = state
                        if state is AlarmState.ALARM:
                            rollout = alarm_fired(rollout, alarm.spec.name, now)
                            break
                rollouts[name] = rollout
                if rollout.state is RolloutState.ROLLED_BACK:
                    return ROLLED_BACK, f"{name}: {rollout.reason}"
                if rollout.state is RolloutState.SUCCEEDED:
                    new.router.promote(name)
                else:
                    new.router.set_weight(name, rollout.weight)
                self.progress.setdefault(record.id, {})[name] = rollout.weight
            if all(r.state is RolloutState.SUCCEEDED for r in rollouts.values()):
                return SUCCEEDED, ""
            await asyncio.sleep(self.settings.tick_s)

    def _retire(self, live: LiveDeployment) -> None:
        task = asyncio.get_running_loop().create_task(live.retire())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _build(
        self,
        stage_name: str,
        record: Deployment,
        prepared: Prepared,
        old: LiveDeployment | None,
    ) -> LiveDeployment:
        """Start the runtime of a deployment and wire its router, gateway and edge."""
        model = prepared.model
        stack = record.stack
        credentials = self.credentials(stage_name, stack) if self.credentials is not None else None
        environments = (
            await asyncio.to_thread(credentials.issue, model.functions.values())
            if credentials is not None
            else None
        )
        try:
            return await self._start_deployment(
                stage_name, record, prepared, environments, credentials
            )
        except BaseException:
            if credentials is not None:
                await asyncio.to_thread(credentials.revoke)
            raise

    async def _start_deployment(
        self,
        stage_name: str,
        record: Deployment,
        prepared: Prepared,
        environments: Mapping[str, Mapping[str, str]] | None,
        credentials: FunctionCredentials | None,
    ) -> LiveDeployment:
        model = prepared.model
        lookup = self._lookup
        configs = await asyncio.to_thread(
            runtime_functions,
            model,
            lambda: _staged(lookup(), stage_name, record.stack),
            environments,
        )
        configs = [replace(c, version=str(record.versions[c.name])) for c in configs]
        settings = self.settings
        stage_dir = settings.state_dir / "stages" / stage_name
        stage_dir.mkdir(parents=True, exist_ok=True)
        runtime = Runtime(
            RuntimeConfig(
                state_dir=str(stage_dir),
                region=settings.region,
                account_id=settings.account_id,
                node_concurrency=settings.stage_concurrency.get(
                    stage_name, settings.node_concurrency
                ),
                idle_keepalive_s=settings.idle_keepalive_s,
                watch_code=False,
                stage=stage_name,
                stack=record.stack,
                sandbox=self.sandbox,
            ),
            configs,
            recorder=self.metrics,
        )
        await runtime.start()
        router = AliasRouter(
            {c.name: FunctionRoute(primary=Target(runtime, c.version)) for c in configs},
            spend=self.spend,
            stage=stage_name,
            worst_case={
                spec.name: self._worst_case(stage_name, model, (spec.name,))
                for spec in model.functions.values()
            },
        )
        routes = self.metrics.route_recorder(stage_name) if self.metrics is not None else None
        gateway = GatewayApp(
            model,
            router,
            recorder=routes,
            api_keys=self.api_keys,
            usage=self._usage.setdefault(stage_name, UsageLedger()),
            client_limit=self.client_limit,
        )
        app: Any = gateway
        static = None
        if prepared.static_bucket is not None:
            static = BucketOrigin(
                self._static_bucket(stage_name, record.stack, prepared.static_bucket)
            )
        if prepared.edge is not None:
            stage_edge = prepared.edge.stages.get(stage_name) or next(
                iter(prepared.edge.stages.values())
            )
            config = EdgeConfig(
                domain=settings.domain,
                stages={stage_name: replace(stage_edge, name=stage_name)},
            )
            app = EdgeApp(
                config,
                {stage_name: StageOrigins(api=gateway, static=static)},
                cache=self.edge_cache,
                extra_hosts=self._stack_hosts(stage_name, record.stack),
                recorder=self.metrics.edge if self.metrics is not None else None,
            )
        return LiveDeployment(
            record=record,
            model=model,
            runtime=runtime,
            router=router,
            gateway=gateway,
            app=app,
            static=prepared.request.static,
            worst_case=self._worst_case(stage_name, model),
            credentials=credentials,
            base_path=prepared.request.base_path.strip("/"),
        )

    def _worst_case(
        self, stage_name: str, model: AppModel, only: tuple[str, ...] | None = None
    ) -> Decimal:
        """The most one request to this deployment (or to the ``only`` functions) can cost."""
        prices = self.metrics.prices if self.metrics is not None else PriceBook()
        kinds = {api.kind for api in model.apis.values()}
        gateway = GatewayKind.REST_API if "rest" in kinds else GatewayKind.HTTP_API
        authorizers = any(api.authorizers for api in model.apis.values())
        return worst_case_cost(
            (
                (s.name, s.memory_mb, s.timeout_s)
                for s in model.functions.values()
                if only is None or s.name in only
            ),
            stage=stage_name,
            gateway=gateway,
            prices=prices,
            invocations_per_request=2 if authorizers else 1,
        )

    def _stack_hosts(self, stage: str, stack: str) -> Mapping[str, str]:
        """The hosts a stack's edge answers: the stage's, and ``<stack>.<stage host>``."""
        hosts = dict(self.extra_hosts(stage))
        own = dict(hosts)
        if self.settings.domain:
            domain = self.settings.domain.lower()
            own[f"{stage}.{domain}"] = stage
            if stage == PROD_STAGE:
                own[domain] = stage
        hosts.update({f"{stack.lower()}.{host}": name for host, name in own.items()})
        return hosts

    def _static_bucket(self, stage: str, stack: str, logical_id: str) -> Bucket:
        key = (stage, stack, logical_id)
        bucket = self._buckets.get(key)
        if bucket is None:
            # The default stack keeps the name buckets had before stages held stacks.
            prefix = stage if stack == DEFAULT_STACK else f"{stage}-{stack.lower()}"
            name = f"{prefix}-{logical_id.lower()}"
            bucket = self._buckets[key] = open_bucket(name, self.settings.state_dir / "buckets")
        return bucket

    async def _sync_static(self, stage_name: str, prepared: Prepared, live: LiveDeployment) -> None:
        manifest = prepared.request.static
        if manifest is None or prepared.static_bucket is None:
            return
        bucket = self._static_bucket(stage_name, live.record.stack, prepared.static_bucket)
        changed = await asyncio.to_thread(sync_static, bucket, self.code, manifest)
        if changed:
            paths = list(changed)
            root = "index.html"
            if prepared.edge is not None:
                stage_edge = prepared.edge.stages.get(stage_name)
                if stage_edge is not None:
                    root = stage_edge.default_root_object
                    if stage_edge.error_pages:
                        paths = ["/*"]  # error-page answers are cached under any path
            if f"/{root}" in paths:
                paths.append("/")
            self.edge_cache.invalidate(paths, stage=stage_name)


def _checked(check: Callable[[str], str], text: str) -> str:
    """``check(text)``, its refusal in the deploy API's terms (a 400)."""
    try:
        return check(text)
    except StackNameError as exc:
        raise DeployError(str(exc), hint=exc.hint) from exc


def _routes_to_static(edge: EdgeConfig) -> bool:
    """Whether any behavior of any stage sends requests to the static origin."""
    return any(
        behavior.origin == "static"
        for stage in edge.stages.values()
        for behavior in stage.behaviors
    )


def replace_static(prepared: Prepared, live: LiveDeployment) -> Prepared:
    """``prepared`` with ``live``'s static manifest (to put the old site back)."""
    return replace(prepared, request=msgspec.structs.replace(prepared.request, static=live.static))


def spec_fields(spec: Any) -> dict[str, Any]:
    """The parts of a function's configuration a version freezes (code aside)."""
    return {
        "handler": spec.handler,
        "runtime": spec.runtime,
        "memory": spec.memory_mb,
        "timeout": spec.timeout_s,
        "environment": dict(spec.environment),
        "reserved": spec.reserved_concurrency,
        "provisioned": spec.provisioned_concurrency,
        "architectures": list(spec.architectures),
    }


def _fingerprint(fields: Mapping[str, Any], code_sha: str) -> str:
    payload = orjson.dumps({"code": code_sha, **fields}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(payload).hexdigest()


def _staged(lookup: Lookup, stage: str, stack: str) -> Lookup:
    """Secrets of a stack live under ``<stage>/<stack>/``, the stage's shared ones under
    ``<stage>/``: ``auth-service`` is ``dev/auth/auth-service`` if the stack ``auth`` has
    one of its own, else ``dev/auth-service``."""

    def staged(name: str) -> Mapping[str, Any]:
        try:
            return lookup(f"{stage}/{stack}/{name}")
        except SecretNotFoundError:
            return lookup(f"{stage}/{name}")

    return staged
