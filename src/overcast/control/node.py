"""One overcast node: the data port (gateway) and the admin port, over one runtime.

Lifecycle, in phases (as uvicorn's server does): bind both ports (a clear error if
taken) → start the runtime (zygotes, provisioned instances) → serve → on SIGINT or
SIGTERM stop accepting, let in-flight requests finish (bounded), stop claiming queued
Event invocations (those in flight finish, bounded, or run again on the next start),
stop the runtime so no worker outlives the node.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from overcast.control.access import AccessControl
from overcast.control.access_keys import AccessKey, KeyStore
from overcast.control.admin_app import AdminApp
from overcast.control.app_loading import runtime_functions, secret_lookup
from overcast.control.async_settings import settings_lookup
from overcast.control.data_health import HealthzApp, NodeHealth
from overcast.control.edge_admin import EdgeAdmin, EdgePurger
from overcast.control.egress_proxy import EgressProxy
from overcast.control.function_credentials import (
    RENEW_EVERY_S,
    FunctionCredentials,
    FunctionKeys,
    admin_url,
    revoke_stale_tokens,
)
from overcast.control.lambda_api import LambdaApi, LambdaApiSettings, StaticCatalog
from overcast.control.listeners import Listeners, ListenOptions
from overcast.control.local_edge import build_local_edge, read_edge_config
from overcast.control.record_sink import QueueRecordSink
from overcast.control.s3_api import S3Api
from overcast.control.s3_buckets import BucketStore
from overcast.control.s3_notifications import S3Notifier, create_template_buckets, s3_targets
from overcast.control.sandbox_choice import choose_sandbox, platform_ports
from overcast.control.schedule_targets import schedule_targets
from overcast.control.sns_api import SnsApi, create_template_topics
from overcast.control.sqs_api import SqsApi, create_template_queues
from overcast.control.sqs_sources import mapping_targets
from overcast.durable_files import atomic_write
from overcast.edge import EdgeApp
from overcast.events import EVENTS_FILE, AsyncQueue, Dispatcher
from overcast.events.dispatcher import backoff_scale_from_environ
from overcast.events.scheduler import Scheduler, clock_scale_from_environ
from overcast.events.sqs_poller import SqsPoller
from overcast.gateway import ApiKey, GatewayApp, InMemoryApiKeyStore
from overcast.observe.edge_metrics import (
    AsyncEventsCollector,
    ConcurrencyCollector,
    SandboxCollector,
)
from overcast.observe.service import MetricsService
from overcast.runtime import Runtime, RuntimeConfig
from overcast.runtime.sandbox import Endpoint
from overcast.secrets import open_secrets
from overcast.template import AppModel

NODE_FILE = "node.json"
#: the stage label of a node's metrics (``overcast up`` has no stages)
LOCAL_STAGE = "local"


@dataclass(frozen=True, slots=True)
class NodeOptions:
    """Everything a node needs; built once by the CLI and handed whole to the node."""

    state_dir: Path
    #: where and how the data and admin ports listen (hosts, ports, TLS, limits)
    listen: ListenOptions = field(default_factory=ListenOptions)
    watch_code: bool = True
    idle_keepalive_s: float = 600.0
    node_concurrency: int = 64
    graceful_timeout_s: float = 30.0
    extra: dict[str, str] = field(default_factory=dict)
    #: (value, key) pairs accepted on REST routes with ApiKeyRequired
    api_keys: tuple[tuple[str, ApiKey], ...] = ()
    #: wall every function instance in (where the machine allows; else a warning)
    sandbox: bool = True
    #: let sandboxed functions reach the internet (through the egress proxy)
    egress: bool = True
    #: seconds a draining node reports 503 on its health check before it stops accepting
    drain_grace_s: float = 5.0


class Node:
    """A running app: owns the runtime, both servers and the node file."""

    def __init__(self, model: AppModel, options: NodeOptions) -> None:
        self.model = model
        self.options = options
        # Read before any socket is bound: a malformed edge section fails the start cleanly.
        template_path = Path(model.template_path)
        self.edge_config = read_edge_config(template_path)
        # Logs, keys, secrets and tokens live below it: owner-only, whatever the umask.
        options.state_dir.mkdir(parents=True, exist_ok=True)
        options.state_dir.chmod(0o700)
        self.secrets = open_secrets(options.state_dir)
        #: invocation and route metrics, and their store; None when OVERCAST_METRICS=off
        self.metrics = MetricsService.from_environ(options.state_dir, os.environ)
        # Bound first: each function's credentials name the admin port, which may be 0.
        self.listeners = Listeners(options.listen)
        #: the forward proxy sandboxed functions reach the internet through
        self.egress = EgressProxy()
        egress = Endpoint("127.0.0.1", self.egress.bind()) if options.egress else None
        self.data_address = self.listeners.data_address
        self.admin_address = self.listeners.admin_address
        self.functions_address = self.listeners.functions_address
        self.function_keys = FunctionKeys()
        function_admin = self.listeners.function_admin_address
        self.credentials = FunctionCredentials(
            self.secrets, self.function_keys, admin_url(*function_admin)
        )
        try:
            revoke_stale_tokens(self.secrets)
            environments = self.credentials.issue(model.functions.values())
        except BaseException:
            self.listeners.close()
            self.egress.close_unstarted()
            raise
        recorder = self.metrics.metrics if self.metrics is not None else None
        #: the sandbox the functions run in, and the warning to show when there is none
        self.sandbox = choose_sandbox(
            options.sandbox,
            platform_ports(function_admin, self.functions_address, self.data_address),
            egress=egress,
        )
        self.runtime = Runtime(
            RuntimeConfig(
                state_dir=str(options.state_dir),
                region=model.region,
                account_id=model.account_id,
                node_concurrency=options.node_concurrency,
                idle_keepalive_s=options.idle_keepalive_s,
                watch_code=options.watch_code,
                stage=LOCAL_STAGE,
                sandbox=self.sandbox.config,
            ),
            runtime_functions(
                model,
                lambda: secret_lookup(options.state_dir, self.secrets.store),
                environments,
            ),
            recorder=recorder,
        )
        if recorder is not None:
            recorder.registry.register(SandboxCollector(self.sandbox.enabled))
            recorder.registry.register(
                ConcurrencyCollector(
                    lambda: {
                        (LOCAL_STAGE, name): self.runtime.busy_count(name)
                        for name in self.runtime.function_names()
                    }
                )
            )
        self.gateway = GatewayApp(
            model,
            self.runtime,
            recorder=recorder.route_recorder(LOCAL_STAGE) if recorder is not None else None,
            api_keys=InMemoryApiKeyStore(options.api_keys),
        )
        # Apps without edge metadata keep the gateway on the data port: no edge cost.
        self.edge: EdgeApp | None = (
            build_local_edge(
                self.edge_config,
                self.gateway,
                template_path.parent,
                recorder=self.metrics.metrics.edge if self.metrics is not None else None,
            )
            if self.edge_config is not None
            else None
        )
        catalog = StaticCatalog(model.functions)
        #: Event invocations: queued durably in the state folder, run with retries
        self.events = Dispatcher(
            AsyncQueue(options.state_dir / EVENTS_FILE),
            self.runtime,
            settings_lookup(
                lambda _qualifier: catalog.functions(),
                region=model.region,
                account_id=model.account_id,
                default_concurrency=options.node_concurrency,
            ),
            grace_s=options.graceful_timeout_s,
            backoff_scale=backoff_scale_from_environ(os.environ),
        )
        #: the app's Schedule/ScheduleV2 events, fired through the queue above
        targets = schedule_targets(model, scope=LOCAL_STAGE, qualifier="$LATEST")
        self.scheduler = Scheduler(
            self.events, lambda: targets, rate_scale=clock_scale_from_environ(os.environ)
        )
        self.lambda_api = LambdaApi(
            self.runtime,
            catalog,
            LambdaApiSettings(model.region, model.account_id),
            events=self.events,
        )
        self.keys = KeyStore(options.state_dir)
        self.admin = AdminApp(
            self.lambda_api,
            AccessControl(self.keys, model.account_id, function_keys=self.function_keys),
            secrets_app=self.secrets.api,
            edge_admin=(
                EdgeAdmin(EdgePurger(self.edge), model.account_id)
                if self.edge is not None
                else None
            ),
            metrics=recorder.exposition if recorder is not None else None,
        )
        self.admin.function_port = self.functions_address[1]
        #: the SQS-compatible queues the admin port serves
        self.sqs = self.admin.sqs_api = SqsApi.open(
            options.state_dir, self.admin.access, region=model.region, account_id=model.account_id
        )
        create_template_queues(self.sqs.store, model.queues.values())
        #: the SNS-compatible topics: Publish queues Event invocations and queue messages
        self.sns = self.admin.sns_api = SnsApi.open(
            options.state_dir,
            self.admin.access,
            region=model.region,
            account_id=model.account_id,
            submit=self.events.submit,
            deliver=self.sqs.deliver,
        )
        self.sns.base_url = self.listeners.admin_url
        create_template_topics(self.sns.store, model.topics.values())
        #: the S3-compatible buckets the admin port serves
        self.s3 = self.admin.s3_api = S3Api(
            BucketStore.under(options.state_dir),
            self.admin.access,
            region=model.region,
            account_id=model.account_id,
        )
        create_template_buckets(self.s3.buckets, model.bucket_names)
        # S3 events invoke $LATEST, as the node's schedules do.
        notifications = s3_targets(model, qualifier="$LATEST")
        self.s3.on_change = S3Notifier(
            self.events, lambda: notifications, region=model.region, owner=model.account_id
        )
        self.events.sink = QueueRecordSink(
            self.sqs, region=model.region, account_id=model.account_id, sns=self.sns
        )
        if recorder is not None:
            counters = self.events.counters
            recorder.registry.register(
                AsyncEventsCollector(
                    lambda: {
                        (LOCAL_STAGE, function): counts
                        for (function, _q), counts in counters.snapshot().items()
                    }
                )
            )
        #: the app's SQS events: event source mappings polling the queues above
        mappings = mapping_targets(
            model,
            scope=LOCAL_STAGE,
            qualifier="$LATEST",
            default_concurrency=options.node_concurrency,
        )
        self.sqs_poller = SqsPoller(
            self.sqs, self.runtime, lambda: mappings, grace_s=options.graceful_timeout_s
        )
        #: the admin key issued on this app's first start (for the CLI to print once)
        self.created_admin_key: AccessKey | None = None
        #: what the data port's health check reports (draining: the balancer looks away)
        self.health = NodeHealth()
        self._stop = asyncio.Event()

    def request_stop(self) -> None:
        self._stop.set()

    def drain(self) -> None:
        """Report draining, then stop after the grace period (SIGUSR1 calls this)."""
        if self.health.draining:
            return
        self.health.start_draining()
        # The balancer needs a few failed checks to take the node out; until then
        # requests still arrive and are served as usual.
        asyncio.get_running_loop().call_later(self.options.drain_grace_s, self._stop.set)

    async def run(self, on_ready: Callable[[Node], None] | None = None) -> None:
        """Serve until asked to stop, then shut down in phases."""
        opts = self.options
        try:
            self.created_admin_key = self.keys.ensure_admin_key()
        except BaseException:
            self._release()
            raise
        servers = self.listeners.servers(
            HealthzApp(self.edge or self.gateway, self.health), self.admin, opts.graceful_timeout_s
        )
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._stop.set)
        loop.add_signal_handler(signal.SIGUSR1, self.drain)
        node_file = opts.state_dir / NODE_FILE
        try:
            if opts.egress:
                await self.egress.start()
            await self.runtime.start()
            for server, sock in servers:
                await server.startup(sockets=[sock])
            self._write_node_file(node_file)
            self.admin.ready = True
            if on_ready is not None:
                on_ready(self)
            async with asyncio.TaskGroup() as group:
                for server, _sock in servers:
                    group.create_task(server.main_loop())
                renewer = group.create_task(self._renew_credentials())
                # Events queued before a restart (or in flight at a crash) run now.
                group.create_task(self.events.run())
                group.create_task(self.scheduler.run())
                group.create_task(self.sqs_poller.run())
                flusher = (
                    group.create_task(self.metrics.run()) if self.metrics is not None else None
                )
                await self._stop.wait()
                # Keep-alive connections still checking see the node go before it closes.
                self.health.start_draining()
                renewer.cancel()
                self.scheduler.stop()
                # Stop claiming events; attempts in flight finish (bounded) or recover.
                self.events.stop()
                # Stop polling; batches in flight finish (bounded) or their messages return.
                self.sqs_poller.stop()
                self.sqs.stop()
                if flusher is not None:
                    flusher.cancel()
                for server, _sock in servers:
                    server.should_exit = True
            # Phase 2: stop accepting, let in-flight requests finish (bounded by uvicorn).
            await asyncio.gather(*(server.shutdown() for server, _sock in servers))
            # Invocations that outlived their integration timeout, and Event invocations.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.gateway.drain(), opts.graceful_timeout_s)
            await self.lambda_api.aclose()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1):
                loop.remove_signal_handler(sig)
            with contextlib.suppress(FileNotFoundError):
                node_file.unlink()
            # Phase 3: no worker outlives the node, nor do the credentials it handed out.
            await self.runtime.aclose()
            await self.egress.aclose()
            if self.metrics is not None:
                # After the runtime: invocations that ended while it drained are counted.
                await self.metrics.aclose()
            self.events.queue.close()
            self.sqs.store.close()
            self.sns.store.close()
            self._release()

    def _release(self) -> None:
        """Revoke the functions' credentials and close both sockets."""
        self.credentials.revoke()
        self.listeners.close()
        self.egress.close_unstarted()

    async def _renew_credentials(self) -> None:
        """Keep the functions' Vault tokens alive for as long as the node runs."""
        while True:
            await asyncio.sleep(RENEW_EVERY_S)
            await asyncio.to_thread(self.credentials.renew)

    def _write_node_file(self, path: Path) -> None:
        """Let `overcast invoke`/`logs` find this node; written atomically, owner-only."""
        path.parent.mkdir(parents=True, exist_ok=True)
        info: dict[str, object] = {
            "pid": os.getpid(),
            "host": self.admin_address[0],
            "port": self.data_address[1],
            "admin_port": self.admin_address[1],
            "admin_url": self.listeners.admin_url,
        }
        if self.edge is not None:
            # `overcast invalidate` without --stage purges the stage local hosts reach.
            info["edge_stage"] = self.edge.config.loopback_stage
        atomic_write(path, json.dumps(info).encode())


def node_admin_url(info: dict[str, object]) -> str:
    """The admin port's URL from a node file (``https`` when the admin port has TLS)."""
    known = info.get("admin_url")
    if isinstance(known, str):
        return known
    return f"http://{info['host']}:{info['admin_port']}"


def read_node_file(state_dir: Path) -> dict[str, object] | None:
    """The running node's address for this app, if one is running."""
    try:
        info: dict[str, object] = json.loads((state_dir / NODE_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None
    pid = info.get("pid")
    if not isinstance(pid, int):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return info
    return info
