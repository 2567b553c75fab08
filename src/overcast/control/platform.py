"""``overcast serve``: a long-lived platform that apps are deployed to, stage by stage.

One process, like :class:`~overcast.control.node.Node`, with the same phases: bind
the data and admin ports → bring back each stage's current deployment → serve →
on SIGINT/SIGTERM stop accepting, let in-flight requests finish, retire every
deployment. The data port picks the stage by the Host header (Route53's part): with
the platform domain ``example.test``, ``dev.example.test`` is stage dev,
``example.test`` and ``www.example.test`` are prod; custom domains map to a stage;
any other host gets 421. The default domain is ``localhost``, whose subdomains
browsers and curl resolve to the loopback address by themselves
(``http://dev.localhost:8080/``).

State lives under the platform's folder: the deploy history (SQLite), artifacts
and static buckets, unpacked code, each stage's logs, the secret store and the keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import signal
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

import orjson

from overcast.asgi import Receive, Scope, Send, serve_lifespan
from overcast.control.access import AccessControl
from overcast.control.access_keys import AccessKey, KeyStore
from overcast.control.admin_app import AdminApp
from overcast.control.alarm_book import AlarmBook
from overcast.control.alarm_watch import AlarmWatch
from overcast.control.api_key_store import FileApiKeyStore
from overcast.control.app_loading import secret_lookup
from overcast.control.async_settings import settings_lookup
from overcast.control.code_store import CodeStore
from overcast.control.dashboard_source import (
    PlatformDashboardSource,
    key_authenticator,
    key_identifier,
)
from overcast.control.data_health import HealthzApp, NodeHealth
from overcast.control.deploy_api import DeployApi
from overcast.control.deploy_store import DeployStore
from overcast.control.deployer import Deployer, DeployError, DeployerSettings
from overcast.control.dns_responder import DnsResponder, DnsZone, start_dns_responder
from overcast.control.edge_admin import EdgeAdmin
from overcast.control.egress_proxy import EgressProxy
from overcast.control.function_credentials import (
    RENEW_EVERY_S,
    FunctionCredentials,
    FunctionKeys,
    admin_url,
    revoke_stale_tokens,
)
from overcast.control.lambda_api import LambdaApi, LambdaApiSettings
from overcast.control.listeners import Listeners, ListenOptions
from overcast.control.node import NODE_FILE
from overcast.control.platform_invoker import PlatformInvoker
from overcast.control.record_sink import QueueRecordSink
from overcast.control.s3_api import S3Api
from overcast.control.s3_buckets import BucketStore
from overcast.control.s3_notifications import (
    S3Notifier,
    S3Target,
    TemplateBucketError,
    create_template_buckets,
    s3_targets,
)
from overcast.control.sandbox_choice import (
    SandboxUnavailableError,
    choose_sandbox,
    platform_ports,
)
from overcast.control.schedule_targets import schedule_targets
from overcast.control.sns_api import SnsApi, TemplateTopicError, create_template_topics
from overcast.control.sqs_api import SqsApi, TemplateQueueError, create_template_queues
from overcast.control.sqs_sources import mapping_targets
from overcast.control.stage import STACK_HOST, Stage
from overcast.dashboard import DashboardApp
from overcast.durable_files import atomic_write
from overcast.edge.cache import ResponseCache
from overcast.edge.hosts import HostTable
from overcast.errors import OvercastError
from overcast.events import EVENTS_FILE, AsyncQueue, Dispatcher
from overcast.events.dispatcher import backoff_scale_from_environ
from overcast.events.scheduler import Scheduler, ScheduleTarget, clock_scale_from_environ
from overcast.events.sqs_poller import MappingTarget, SqsPoller
from overcast.gateway import ClientLimit
from overcast.gateway.throttle import ThrottleLimit
from overcast.observe.edge_metrics import (
    AsyncEventsCollector,
    ConcurrencyCollector,
    SandboxCollector,
)
from overcast.observe.notify import Notifier, SmtpTarget, WebhookTarget
from overcast.observe.pricing import PriceBook
from overcast.observe.service import MetricsService
from overcast.observe.spend import BudgetCap, CapPeriod, SpendMeter, period_bounds
from overcast.runtime.sandbox import Endpoint
from overcast.secrets import open_secrets
from overcast.storage import open_bucket
from overcast.template import AppModel

logger = logging.getLogger("overcast.control.platform")

DEFAULT_STAGES = ("dev", "qa", "prod")


@dataclass(frozen=True, slots=True)
class PlatformOptions:
    """Everything ``overcast serve`` configures."""

    state_dir: Path
    #: where and how the data and admin ports listen (hosts, ports, TLS, limits)
    listen: ListenOptions = field(default_factory=lambda: ListenOptions(port=8080, admin_port=8081))
    domain: str = "localhost"
    stages: tuple[str, ...] = DEFAULT_STAGES
    #: custom host name → stage
    custom_domains: Mapping[str, str] = field(default_factory=dict)
    #: where artifacts are kept: a name under the state folder, file:// or s3:// URL
    artifacts: str = "artifacts"
    node_concurrency: int = 64
    stage_concurrency: Mapping[str, int] = field(default_factory=dict)
    #: a stage's request rate limit (API Gateway stage throttling), by stage
    stage_throttle: Mapping[str, ThrottleLimit] = field(default_factory=dict)
    #: a stage's hard spend limit per day or month, by stage
    budget_caps: Mapping[str, BudgetCap] = field(default_factory=dict)
    #: a page (content type, body) a capped stage answers instead of the 429 message
    budget_fallbacks: Mapping[str, tuple[bytes, bytes]] = field(default_factory=dict)
    #: a pricing alarm (EstimatedCharges this month above USD) per stage
    pricing_alarms: Mapping[str, Decimal] = field(default_factory=dict)
    #: where alarm state changes are sent
    webhooks: tuple[WebhookTarget, ...] = ()
    emails: tuple[SmtpTarget, ...] = ()
    alarm_interval_s: float = 10.0
    #: unit prices (default: AWS's published ones; OVERCAST_PRICES names a file too)
    prices: PriceBook | None = None
    #: a rate limit per client address on every stage (AWS WAF's rate-based rule's part)
    client_limit: ClientLimit | None = None
    idle_keepalive_s: float = 600.0
    graceful_timeout_s: float = 30.0
    tick_s: float = 0.5
    region: str = "us-east-1"
    account_id: str = "123456789012"
    #: answer DNS for the platform domain on this port (UDP and TCP); None: no DNS
    dns_port: int | None = None
    #: the IPv4 address the platform's names resolve to (default: the listening address)
    dns_address: str | None = None
    #: wall every function instance in; a platform refuses to start where it cannot
    sandbox: bool = True
    #: let sandboxed functions reach the internet (through the egress proxy)
    egress: bool = True
    #: seconds a draining node reports 503 on its health check before it stops accepting
    drain_grace_s: float = 5.0


_MISDIRECTED = orjson.dumps(
    {"message": "Misdirected Request: this platform does not serve that host"}
)


class PlatformApp:
    """The data port: Host → stage (and stack) → that stack's current deployment.

    A host one label longer than a stage's host names a stack of that stage
    (``auth.dev.example.test`` → stack ``auth`` of ``dev``), as each CloudFormation stack
    of an account gets API Gateway custom domains of its own.
    """

    def __init__(self, stages: Mapping[str, Stage], hosts: HostTable) -> None:
        self.stages = stages
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        host = next((v for k, v in scope["headers"] if k == b"host"), None)
        text = host.decode("latin-1") if host is not None else ""
        name = self.hosts.stage_for(text) if text else None
        if name is None and "." in text:
            label, _, rest = text.partition(".")
            name = self.hosts.stage_for(rest)
            if name is not None:
                scope = {**scope, STACK_HOST: label.lower()}
        stage = self.stages.get(name) if name is not None else None
        if stage is None:
            status = 400 if host is None else 421
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": _MISDIRECTED})
            return
        await stage(scope, receive, send)


class StagesPurger:
    """Invalidation across the platform's stages (one shared edge cache)."""

    def __init__(self, stages: Collection[str], cache: ResponseCache) -> None:
        self._stages = stages
        self._cache = cache

    def stage_names(self) -> Collection[str]:
        return self._stages

    def invalidate(self, paths: list[str], *, stage: str | None = None) -> int:
        return self._cache.invalidate(paths, stage=stage)


class Platform:
    """A running platform: stages, their deployments, both servers and the node file."""

    def __init__(self, options: PlatformOptions) -> None:
        # Absolute: workers run code from below it, whatever their working directory.
        options = replace(options, state_dir=options.state_dir.resolve())
        self.options = options
        state = options.state_dir
        self.dns: DnsResponder | None = None
        # Checked before anything is bound, so a bad domain fails the start cleanly.
        self.dns_zone = (
            DnsZone(
                domain=options.domain,
                stages=options.stages,
                custom_domains=tuple(options.custom_domains),
                ipv4=options.dns_address or _ipv4_or_loopback(options.listen.host),
            )
            if options.dns_port is not None
            else None
        )
        state.mkdir(parents=True, exist_ok=True)
        state.chmod(0o700)
        for name in options.stages:
            if not name.isidentifier():
                raise ValueError(f"stage name {name!r} must be a word like dev, qa or prod")
        self.secrets = open_secrets(state)
        self.store = DeployStore(state / "deployments.sqlite3")
        self.code = CodeStore(open_bucket(options.artifacts, state / "buckets"), state / "code")
        #: every stage's spend this day and month, against its budget cap if it has one
        self.spend = SpendMeter(dict(options.budget_caps))
        #: every stage's invocation and route metrics; None when OVERCAST_METRICS=off
        self.metrics = MetricsService.from_environ(
            state, os.environ, prices=options.prices, spend=self.spend
        )
        if self.metrics is None and options.budget_caps:
            raise OvercastError(
                "budget caps need spend metering, which OVERCAST_METRICS=off turns off",
                hint="unset OVERCAST_METRICS, or drop --budget-cap",
            )
        unknown = sorted(
            key for key in options.budget_caps if key.split("/", 1)[0] not in options.stages
        )
        if unknown:
            raise OvercastError(f"--budget-cap names no stage of this platform: {unknown}")
        self.stages = {
            name: Stage(
                name,
                options.stage_throttle.get(name),
                spend=self.spend,
                budget_fallback=options.budget_fallbacks.get(name),
            )
            for name in options.stages
        }
        self.edge_cache = ResponseCache()
        self.hosts = self._host_table()
        self.data_app = PlatformApp(self.stages, self.hosts)
        self.deployer = Deployer(
            DeployerSettings(
                state_dir=state,
                domain=options.domain,
                region=options.region,
                account_id=options.account_id,
                node_concurrency=options.node_concurrency,
                stage_concurrency=dict(options.stage_concurrency),
                idle_keepalive_s=options.idle_keepalive_s,
                tick_s=options.tick_s,
            ),
            self.store,
            self.code,
            self.stages,
            self.edge_cache,
            lookup=lambda: secret_lookup(state, self.secrets.store),
            on_switch=self._deployments_changed,
            extra_hosts=self._hosts_of,
            metrics=self.metrics.metrics if self.metrics is not None else None,
            api_keys=FileApiKeyStore(state),
            client_limit=options.client_limit,
            spend=self.spend,
        )
        self.notifier = (
            Notifier(options.webhooks, options.emails)
            if options.webhooks or options.emails
            else None
        )
        if self.metrics is not None:
            self.metrics.metrics.registry.register(ConcurrencyCollector(self._busy))
        #: alarms defined with `overcast alarms put` (CloudWatch's PutMetricAlarm)
        self.alarm_book = AlarmBook(state, options.stages)
        self.alarms = (
            AlarmWatch(
                self.metrics.metrics,
                self.spend,
                self._current_models,
                busy=self._busy,
                notifier=self.notifier,
                pricing_alarms=options.pricing_alarms,
                defined=lambda: self.alarm_book.alarms,
                interval_s=options.alarm_interval_s,
                region=options.region,
                account_id=options.account_id,
            )
            if self.metrics is not None
            else None
        )
        self.keys = KeyStore(state)
        #: every live deployment's function keys (memory only), checked on the admin port
        self.function_keys = FunctionKeys()
        revoke_stale_tokens(self.secrets)
        access = AccessControl(self.keys, options.account_id, function_keys=self.function_keys)
        self.invoker = PlatformInvoker(self.stages)
        access.stack_of = self.invoker.stack_of
        #: Event invocations: queued durably in the state folder, run with retries
        self.events = Dispatcher(
            AsyncQueue(state / EVENTS_FILE),
            self.invoker,
            settings_lookup(
                self.invoker.functions,
                region=options.region,
                account_id=options.account_id,
                default_concurrency=options.node_concurrency,
            ),
            grace_s=options.graceful_timeout_s,
            backoff_scale=backoff_scale_from_environ(os.environ),
        )
        #: each stage's current deployments' schedules, fired through the queue above
        self.scheduler = Scheduler(
            self.events, self._schedule_targets, rate_scale=clock_scale_from_environ(os.environ)
        )
        self.lambda_api = LambdaApi(
            self.invoker,
            self.invoker,
            LambdaApiSettings(options.region, options.account_id),
            events=self.events,
        )
        self.admin = AdminApp(
            self.lambda_api,
            access,
            secrets_app=self.secrets.api,
            edge_admin=EdgeAdmin(
                StagesPurger(tuple(self.stages), self.edge_cache), options.account_id
            ),
            deploy_api=DeployApi(
                self.deployer,
                access,
                region=options.region,
                account_id=options.account_id,
                hosts=lambda: self.hosts.hosts,
                spend=self.spend if self.metrics is not None else None,
                alarms=self.alarms.records if self.alarms is not None else None,
                alarm_book=self.alarm_book,
            ),
            metrics=self.metrics.metrics.exposition if self.metrics is not None else None,
            dashboard=DashboardApp(
                PlatformDashboardSource(
                    stages=self.stages,
                    hosts=lambda: self.hosts.hosts,
                    store=self.store,
                    deployer=self.deployer,
                    spend=self.spend,
                    watch=self.alarms,
                    metrics_store=self.metrics.store if self.metrics is not None else None,
                    state_dir=state,
                ),
                key_authenticator(self.keys),
                identify=key_identifier(self.keys),
            ),
        )
        #: the SQS-compatible queues the admin port serves
        self.sqs = self.admin.sqs_api = SqsApi.open(
            state, access, region=options.region, account_id=options.account_id
        )
        #: the S3-compatible buckets the admin port serves; the S3 events of every live
        #: deployment, by bucket name (rebuilt on each switch)
        self.s3 = self.admin.s3_api = S3Api(
            BucketStore.under(state), access, region=options.region, account_id=options.account_id
        )
        self._s3_targets: dict[str, list[S3Target]] = {}
        self.s3.on_change = S3Notifier(
            self.events,
            lambda: self._s3_targets,
            region=options.region,
            owner=options.account_id,
        )
        self.deployer.provision = self._provision
        self.deployer.release = self._release_queues
        self.sqs.owner_of = self._queue_owner
        #: the SNS-compatible topics (a lambda subscriber names its stage as qualifier)
        self.sns = self.admin.sns_api = SnsApi.open(
            state,
            access,
            region=options.region,
            account_id=options.account_id,
            submit=self.events.submit,
            deliver=self.sqs.deliver,
        )
        self.sns.owner_of = self._topic_owner
        self.events.sink = QueueRecordSink(
            self.sqs, region=options.region, account_id=options.account_id, sns=self.sns
        )
        if self.metrics is not None:
            counters = self.events.counters
            # An event's qualifier is the stage it was sent to (or a version number).
            self.metrics.metrics.registry.register(
                AsyncEventsCollector(
                    lambda: {
                        (qualifier, function): counts
                        for (function, qualifier), counts in counters.snapshot().items()
                    }
                )
            )
        #: each stage's current deployments' SQS events, polling the queues above
        self.sqs_poller = SqsPoller(
            self.sqs, self.invoker, self._mapping_targets, grace_s=options.graceful_timeout_s
        )
        self.listeners = Listeners(options.listen)
        self.sns.base_url = self.listeners.admin_url
        #: the forward proxy sandboxed functions reach the internet through
        self.egress = EgressProxy()
        egress = Endpoint("127.0.0.1", self.egress.bind()) if options.egress else None
        self.data_address = self.listeners.data_address
        self.admin_address = self.listeners.admin_address
        self.functions_address = self.listeners.functions_address
        function_admin = self.listeners.function_admin_address
        try:
            #: the sandbox every deployment's functions run in (None: --no-sandbox)
            self.sandbox = choose_sandbox(
                options.sandbox,
                platform_ports(function_admin, self.functions_address, self.data_address),
                egress=egress,
                required=True,
            )
        except SandboxUnavailableError:
            self.listeners.close()
            self.egress.close_unstarted()
            raise
        self.deployer.sandbox = self.sandbox.config
        self.admin.function_port = self.functions_address[1]
        if self.admin.dashboard is not None and self.sandbox.warning is not None:
            self.admin.dashboard.notice = self.sandbox.warning
        if self.metrics is not None:
            self.metrics.metrics.registry.register(SandboxCollector(self.sandbox.enabled))
        endpoint = admin_url(*function_admin)
        self.deployer.credentials = lambda stage, stack: FunctionCredentials(
            self.secrets, self.function_keys, endpoint, stage, stack
        )
        self.created_admin_key: AccessKey | None = None
        #: what the data port's health check reports (draining: the balancer looks away)
        self.health = NodeHealth()
        self._stop = asyncio.Event()

    def _host_table(self) -> HostTable:
        return HostTable.build(
            self.options.stages, domain=self.options.domain, custom=self.options.custom_domains
        )

    def _hosts_of(self, stage: str) -> Mapping[str, str]:
        """Every host the platform routes to ``stage`` (so the stage's edge accepts them)."""
        return {host: name for host, name in self.hosts.hosts.items() if name == stage}

    def request_stop(self) -> None:
        self._stop.set()

    def drain(self) -> None:
        """Report draining, then stop after the grace period (SIGUSR1 calls this)."""
        if self.health.draining:
            return
        self.health.start_draining()
        asyncio.get_running_loop().call_later(self.options.drain_grace_s, self._stop.set)

    async def run(self, on_ready: Callable[[Platform], None] | None = None) -> None:
        """Serve until asked to stop, then shut down in phases."""
        opts = self.options
        try:
            self.created_admin_key = self.keys.ensure_admin_key()
        except BaseException:
            self._release()
            raise
        servers = self.listeners.servers(
            HealthzApp(self.data_app, self.health), self.admin, opts.graceful_timeout_s
        )
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._stop.set)
        loop.add_signal_handler(signal.SIGUSR1, self.drain)
        node_file = opts.state_dir / NODE_FILE
        try:
            if self.metrics is not None:
                await asyncio.to_thread(self._seed_spend)
            if opts.egress:
                await self.egress.start()
            await self.deployer.restore()
            if self.dns_zone is not None and opts.dns_port is not None:
                self.dns = await start_dns_responder(self.dns_zone, opts.listen.host, opts.dns_port)
            for server, sock in servers:
                await server.startup(sockets=[sock])
            self._write_node_file(node_file)
            self.admin.ready = True
            if on_ready is not None:
                on_ready(self)
            async with asyncio.TaskGroup() as group:
                for server, _sock in servers:
                    group.create_task(server.main_loop())
                background = []
                if self.metrics is not None:
                    background.append(group.create_task(self.metrics.run()))
                if self.alarms is not None:
                    background.append(group.create_task(self.alarms.run()))
                if self.notifier is not None:
                    background.append(group.create_task(self.notifier.run()))
                background.append(group.create_task(self._renew_credentials()))
                # Events queued before a restart (or in flight at a crash) run now.
                group.create_task(self.events.run())
                group.create_task(self.scheduler.run())
                group.create_task(self.sqs_poller.run())
                await self._stop.wait()
                # Keep-alive connections still checking see the node go before it closes.
                self.health.start_draining()
                for task in background:
                    task.cancel()
                self.scheduler.stop()
                # Stop claiming events; attempts in flight finish (bounded) or recover.
                self.events.stop()
                # Stop polling; batches in flight finish (bounded) or their messages return.
                self.sqs_poller.stop()
                self.sqs.stop()
                for server, _sock in servers:
                    server.should_exit = True
            await asyncio.gather(*(server.shutdown() for server, _sock in servers))
            await self.lambda_api.aclose()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1):
                loop.remove_signal_handler(sig)
            with contextlib.suppress(FileNotFoundError):
                node_file.unlink()
            if self.dns is not None:
                await self.dns.aclose()
            await self.deployer.aclose()
            await self.egress.aclose()
            if self.metrics is not None:
                # After every deployment retired: their last invocations are counted.
                await self.metrics.aclose()
            self.store.close()
            self.events.queue.close()
            self.sqs.store.close()
            self.sns.store.close()
            self._release()

    def _current_models(self) -> dict[str, tuple[str, list[AppModel]] | None]:
        """Each stage's current deployments (one key for them all) and apps: what its
        alarms come from."""
        out: dict[str, tuple[str, list[AppModel]] | None] = {}
        for name, stage in self.stages.items():
            lives = sorted(stage.lives(), key=lambda live: live.record.stack)
            out[name] = (
                ("+".join(live.record.id for live in lives), [live.model for live in lives])
                if lives
                else None
            )
        return out

    def _deployments_changed(self) -> None:
        """A deployment went live or away: rebuild the S3 events of what is live now
        (its buckets were made by :meth:`_provision`)."""
        targets: dict[str, list[S3Target]] = {}
        for name, stage in self.stages.items():
            for live in stage.lives():
                for bucket, found in s3_targets(live.model, qualifier=name).items():
                    targets.setdefault(bucket, []).extend(found)
        self._s3_targets = targets

    def _owners(
        self,
        names: Callable[[AppModel], Iterable[tuple[str, str]]],
        but: tuple[str, str] | None = None,
    ) -> dict[str, tuple[str, str]]:
        """Name → (stage, stack) of the resources ``names`` lists (as logical id, name
        pairs) in the live deployments, but the one of (stage, stack) ``but``."""
        return {
            name: (stage_name, live.record.stack)
            for stage_name, stage in self.stages.items()
            for live in stage.lives()
            if (stage_name, live.record.stack) != but
            for _logical_id, name in names(live.model)
        }

    def _queue_owner(self, queue: str) -> tuple[str, str] | None:
        """The (stage, stack) whose live deployment's template holds queue ``queue``."""
        return self._owners(_queue_names).get(queue)

    def _topic_owner(self, topic: str) -> tuple[str, str] | None:
        """The (stage, stack) whose live deployment's template holds topic ``topic``."""
        return self._owners(_topic_names).get(topic)

    async def _provision(self, stage_name: str, stack: str, model: AppModel) -> None:
        """Create a deployment's buckets, queues and topics; refuse, before creating any,
        a name another stage or stack's live deployment holds (CloudFormation refuses a
        name another stack holds)."""
        for kind, key, example, names in _NAMED_RESOURCES:
            owners = self._owners(names, but=(stage_name, stack))
            for logical_id, name in names(model):
                if name in owners:
                    held_stage, held_stack = owners[name]
                    raise DeployError(
                        f"{kind} '{logical_id}': {name} already exists in stack {held_stack} "
                        f"of stage {held_stage}",
                        status=409,
                        code="ResourceConflictException",
                        hint=f"name it per stage ({key}: !Sub '{example}-${{Stage}}') or leave "
                        f"{key} out: generated names are the stage's own",
                    )
        try:
            await asyncio.to_thread(create_template_queues, self.sqs.store, model.queues.values())
            await asyncio.to_thread(create_template_buckets, self.s3.buckets, model.bucket_names)
            await asyncio.to_thread(
                lambda: create_template_topics(
                    self.sns.store,
                    model.topics.values(),
                    origin=f"template:{stage_name}/{stack}",
                    qualifier=stage_name,
                )
            )
        except (TemplateQueueError, TemplateBucketError, TemplateTopicError) as exc:
            raise DeployError(str(exc), code="InvalidParameterValueException") from exc

    async def _release_queues(self, stage_name: str, stack: str, model: AppModel) -> None:
        """Delete a deleted stack's queues and topics, but any that a live deployment
        still holds."""
        queues_held = self._owners(_queue_names)
        for queue in model.queues.values():
            if queue.name in queues_held:
                continue
            try:
                await asyncio.to_thread(self.sqs.store.delete_queue, queue.name)
            except OvercastError as exc:  # gone already: deleted by hand
                logger.info("queue %s of stack %s: %s", queue.name, stack, exc)
        held = self._owners(_topic_names)
        for topic in model.topics.values():
            if topic.name not in held:
                await asyncio.to_thread(self.sns.store.delete_topic, topic.name)

    def _schedule_targets(self) -> list[ScheduleTarget]:
        """What fires now: the schedules of each stage's current deployments (a deploy or
        a rollback changes them; the scheduler reads them again every second)."""
        targets: list[ScheduleTarget] = []
        for name, stage in self.stages.items():
            for live in stage.lives():
                scope = f"{name}/{live.record.stack}"
                targets += schedule_targets(live.model, scope=scope, qualifier=name)
        return targets

    def _mapping_targets(self) -> list[MappingTarget]:
        """What polls now: the SQS events of each stage's current deployments, each on the
        queue its spec names (a deploy or a rollback changes them; read every second)."""
        targets: list[MappingTarget] = []
        for name, stage in self.stages.items():
            for live in stage.lives():
                targets += mapping_targets(
                    live.model,
                    scope=f"{name}/{live.record.stack}",
                    qualifier=name,
                    default_concurrency=self.options.node_concurrency,
                )
        return targets

    def _busy(self) -> dict[tuple[str, str], int]:
        """Instances running an invocation now, per (stage, function)."""
        out: dict[tuple[str, str], int] = {}
        for name, stage in self.stages.items():
            for live in stage.lives():
                for function in live.router.routes:
                    out[name, function] = live.runtime.busy_count(function)
        return out

    def _seed_spend(self) -> None:
        """Start each stage's meter from the spend already stored this day and month."""
        if self.metrics is None:
            return
        now = time.time()
        day_start = period_bounds(CapPeriod.DAY, now)[0]
        month_start = period_bounds(CapPeriod.MONTH, now)[0]
        for stage in self.stages:
            day = self.metrics.store.totals_by_function(since=day_start, until=now, stage=stage)
            month = self.metrics.store.totals_by_function(since=month_start, until=now, stage=stage)
            self.spend.seed(
                stage,
                sum((t.cost for t in day.values()), Decimal(0)),
                sum((t.cost for t in month.values()), Decimal(0)),
                now,
            )

    async def _renew_credentials(self) -> None:
        """Keep the credentials of every live deployment's functions alive."""
        while True:
            await asyncio.sleep(RENEW_EVERY_S)
            for stage in self.stages.values():
                for live in stage.lives():
                    if live.credentials is not None:
                        await asyncio.to_thread(live.credentials.renew)

    def _release(self) -> None:
        self.listeners.close()
        self.egress.close_unstarted()

    def _write_node_file(self, path: Path) -> None:
        info: dict[str, object] = {
            "pid": os.getpid(),
            "host": self.admin_address[0],
            "port": self.data_address[1],
            "admin_port": self.admin_address[1],
            "admin_url": self.listeners.admin_url,
            "platform": True,
            "domain": self.options.domain,
            "stages": list(self.stages),
        }
        if self.dns is not None:
            info["dns_port"] = self.dns.address[1]
        atomic_write(path, json.dumps(info).encode())


def _ipv4_or_loopback(host: str) -> str:
    """The address names resolve to: the listening IPv4 address, else loopback."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "127.0.0.1"
    if address.version != 4 or address.is_unspecified:
        return "127.0.0.1"
    return host


def _queue_names(model: AppModel) -> Iterable[tuple[str, str]]:
    return ((queue.logical_id, queue.name) for queue in model.queues.values())


def _topic_names(model: AppModel) -> Iterable[tuple[str, str]]:
    return ((topic.logical_id, topic.name) for topic in model.topics.values())


def _bucket_names(model: AppModel) -> Iterable[tuple[str, str]]:
    return model.bucket_names.items()


#: a deployment's named resources: kind, name property, a name to suggest, its names
_NAMED_RESOURCES: tuple[
    tuple[str, str, str, Callable[[AppModel], Iterable[tuple[str, str]]]], ...
] = (
    ("Bucket", "BucketName", "files", _bucket_names),
    ("Queue", "QueueName", "jobs", _queue_names),
    ("Topic", "TopicName", "orders", _topic_names),
)
