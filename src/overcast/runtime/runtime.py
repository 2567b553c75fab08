"""The runtime: Lambda-semantics function instances behind the ``Invoker`` protocol.

Owns the zygotes (one per dependency set — and, when sandboxed, per sandbox
identity and code folder, each with the relays of its granted ports), the
per-function pools, and four
background tasks it starts in :meth:`Runtime.start` and awaits in
:meth:`Runtime.aclose`: the log writer, the reaper (keep-alive, provisioned
top-up, cgroup cleanup), the code watcher (hot reload) and, without cgroups, the
RSS watchdog.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import sys
import time
import uuid
from collections.abc import Sequence
from decimal import Decimal

from overcast.ids import request_id as new_request_id
from overcast.invoke import (
    MAX_SYNC_PAYLOAD_BYTES,
    FunctionNotFoundError,
    InvocationRecorder,
    InvocationReport,
    InvokeRequest,
    InvokeResult,
    RequestTooLargeError,
    ServiceError,
    ThrottledError,
)
from overcast.runtime import lambda_errors
from overcast.runtime.cgroups import Cgroups, InstanceGroup, NoCgroups, detect, rss_bytes
from overcast.runtime.config import FunctionConfig, RuntimeConfig
from overcast.runtime.deps import deps_dir_for, is_installed, prepare_dependencies
from overcast.runtime.errors import ZygoteError
from overcast.runtime.instance import Failure, InitOutcome, Instance, Outcome, WorkerProtocol
from overcast.runtime.log_format import (
    billed_duration_ms,
    end_line,
    kb_to_mb,
    log_group_name,
    log_stream_name,
    report_line,
)
from overcast.runtime.log_pipe import InstanceLog, InvocationLog, LogWriter
from overcast.runtime.log_store import LogStore
from overcast.runtime.messages import Done, Exited, InitFailed, Invoke, Ready, WorkerSpec
from overcast.runtime.pool import Pool
from overcast.runtime.relay import PortRelay
from overcast.runtime.sandbox import (
    SandboxRequest,
    egress_environment,
    instance_paths,
    lambda_environment,
    plan,
    sandbox_root,
)
from overcast.runtime.state import Event, State
from overcast.runtime.zygote_client import ZygoteClient

logger = logging.getLogger("overcast.runtime")

#: Lambda's limit on an on-demand instance's Init phase; past it Lambda retries the Init
#: once within the first invocation, bounded by the function's Timeout. Provisioned
#: instances get max(130 s, Timeout).
#: https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html
INIT_TIMEOUT_S = 10.0
PROVISIONED_INIT_TIMEOUT_S = 130.0
#: How long a LogType=Tail invocation waits for its last log line to be read.
TAIL_WAIT_S = 2.0
#: How long shutdown waits for killed instances to be reaped.
KILL_WAIT_S = 3.0
WATCHDOG_INTERVAL_S = 0.05


def _execution_env(runtime: str) -> str:
    return f"AWS_Lambda_{runtime}"


#: one zygote per key: (dependency folder, sandbox request or None)
ZygoteKey = tuple[str | None, SandboxRequest | None]


class Runtime:
    """Runs functions as Lambda does; implements :class:`overcast.invoke.Invoker`."""

    #: Cancelling a call to :meth:`invoke` abandons only the wait: the invocation
    #: runs to its end and its instance is settled as usual (``overcast.invoke``).
    cancel_safe = True

    def __init__(
        self,
        config: RuntimeConfig,
        functions: Sequence[FunctionConfig],
        *,
        recorder: InvocationRecorder | None = None,
    ) -> None:
        self.config = config
        #: told of every finished or throttled invocation (metrics, cost); None: nobody
        self.recorder = recorder
        self._functions = {function.name: function for function in functions}
        self._pools = {function.name: Pool(function) for function in functions}
        self.logs = LogStore(config.state_dir)
        self._writer: LogWriter | None = None
        self._cgroups: Cgroups = NoCgroups()
        self._deps: dict[str, str | None] = {}
        self._zygotes: dict[ZygoteKey, ZygoteClient] = {}
        self._relays: dict[ZygoteKey, list[PortRelay]] = {}
        self._instances: dict[str, Instance] = {}  # every instance whose process may exist
        self._live = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        self._closing = False
        self._inflight = 0
        self._drained: asyncio.Event | None = None
        self._stale_groups: list[InstanceGroup] = []
        self._fingerprints: dict[str, tuple[tuple[str, int, int], ...]] = {}
        self._zygote_lock: asyncio.Lock | None = None
        self._arns: dict[tuple[str, str | None], str] = {}
        self._cold: set[asyncio.Task[InvokeResult]] = set()
        self._event_loop: asyncio.AbstractEventLoop | None = None

    # --- Invoker ---------------------------------------------------------------------

    def function_names(self) -> list[str]:
        return list(self._functions)

    def get_function(self, name: str) -> FunctionConfig | None:
        return self._functions.get(name)

    async def start(self) -> None:
        """Install missing dependencies, start the zygotes and provisioned instances.

        Returns once every provisioned instance is ready (or failed its Init).
        """
        if self._started:
            return
        self._event_loop = asyncio.get_running_loop()
        self._drained = asyncio.Event()
        self._zygote_lock = asyncio.Lock()
        self._writer = LogWriter(self.logs)
        self._tasks.append(asyncio.create_task(self._writer.run(), name="overcast-log-writer"))
        self._cgroups = await asyncio.to_thread(detect, self.config.use_cgroups)
        logger.info("instance limits: %s", type(self._cgroups).__name__)
        missing = []
        for function in self._functions.values():
            deps = deps_dir_for(function, self.config.state_dir)
            self._deps[function.name] = deps
            if deps is not None and not is_installed(deps):
                missing.append(function)
        if missing:
            await asyncio.to_thread(prepare_dependencies, missing, self.config.state_dir, None)
        try:
            keys = {self._zygote_key(function) for function in self._functions.values()}
            for key in sorted(keys, key=_key_order):
                await self._zygote(key)
        except ZygoteError as exc:
            await self.aclose()
            raise ServiceError(f"could not start the runtime: {exc}") from exc
        self._started = True
        self._tasks.append(asyncio.create_task(self._reaper(), name="overcast-reaper"))
        if self.config.watch_code:
            for function in self._functions.values():
                self._fingerprints[function.code_dir] = _fingerprint(function.code_dir)
            self._tasks.append(asyncio.create_task(self._watcher(), name="overcast-watcher"))
        if isinstance(self._cgroups, NoCgroups):
            self._tasks.append(asyncio.create_task(self._watchdog(), name="overcast-watchdog"))
        await self._top_up_provisioned()

    async def invoke(self, request: InvokeRequest) -> InvokeResult:
        """Run one invocation on a warm instance, or a new one; never queue."""
        if self._closing or not self._started:
            raise ServiceError("The runtime is not accepting invocations.")
        pool = self._pools.get(request.function_name)
        config = pool.config if pool is not None else None
        if (
            pool is None
            or config is None
            or request.qualifier not in ("", "$LATEST", config.version)
        ):
            raise FunctionNotFoundError(
                f"Function not found: {self._arn(request.function_name, request.qualifier)}"
            )
        if len(request.payload) > MAX_SYNC_PAYLOAD_BYTES:
            # https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
            raise RequestTooLargeError(
                f"Request must be smaller than {MAX_SYNC_PAYLOAD_BYTES} bytes "
                "for the InvokeFunction operation"
            )
        instance = pool.take_idle()
        if instance is not None:
            return await self._start(pool, instance, request, None)
        try:
            instance = self._reserve(pool)
        except ThrottledError:
            self._record_throttle(config, request)
            raise
        # A cold start spans several awaits: its own task, owned by the runtime, keeps
        # it whole when the caller stops waiting (see ``cancel_safe``).
        task = self._loop.create_task(self._cold_invoke(pool, instance, request))
        self._inflight += 1
        self._cold.add(task)
        task.add_done_callback(self._cold_done)
        return await asyncio.shield(task)

    @property
    def _loop(self) -> asyncio.AbstractEventLoop:
        loop = self._event_loop
        if loop is None:
            raise ServiceError("the runtime is not started")
        return loop

    def _cold_done(self, task: asyncio.Task[InvokeResult]) -> None:
        self._cold.discard(task)
        self._inflight -= 1
        if self._inflight == 0 and self._drained is not None:
            self._drained.set()

    async def aclose(self) -> None:
        """Stop accepting, drain in-flight invocations (bounded), kill everything, clean up."""
        self._closing = True
        if self._inflight and self._drained is not None:
            self._drained.clear()
            if self._inflight:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._drained.wait(), self.config.drain_timeout_s)
        writer_task = self._tasks[0] if self._tasks else None
        for task in self._tasks[1:]:
            task.cancel()
        for task in self._tasks[1:]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        instances = list(self._instances.values())
        for instance in instances:
            if instance.live:
                instance.apply(Event.DIE)
                self._forget(instance)
            instance.kill()
        waits = [i.gone for i in instances if not i.gone.done()]
        waits += [i.log.closed for i in instances if i.log is not None and not i.log.closed.done()]
        if waits:
            await asyncio.wait(waits, timeout=KILL_WAIT_S)
        for relays in self._relays.values():
            for relay in relays:
                await relay.aclose()
        self._relays.clear()
        for zygote in self._zygotes.values():
            await zygote.aclose()
        self._zygotes.clear()
        if self._cold:
            # Cold starts caught by shutdown end with their instance's death.
            await asyncio.wait(set(self._cold), timeout=KILL_WAIT_S)
        for instance in instances:
            instance.close_transports()
            if instance.group is not None:
                self._cgroups.kill(instance.group)
                self._cgroups.remove(instance.group)
        for group in self._stale_groups:
            self._cgroups.kill(group)
            self._cgroups.remove(group)
        self._stale_groups.clear()
        self._instances.clear()
        self._cgroups.close()
        if writer_task is not None:
            writer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer_task
        self._tasks.clear()

    # --- introspection (tests, benchmarks, the admin API) ------------------------------

    def instance_count(self, name: str) -> int:
        pool = self._pools.get(name)
        return pool.size if pool is not None else 0

    def busy_count(self, name: str) -> int:
        """Instances of ``name`` running an invocation now (its concurrency)."""
        pool = self._pools.get(name)
        if pool is None:
            return 0
        return sum(1 for i in pool.instances if i.state is State.BUSY or i.state is State.STARTING)

    def instance_pids(self, name: str) -> list[int]:
        pool = self._pools.get(name)
        if pool is None:
            return []
        return sorted(i.pid for i in pool.instances if i.pid is not None)

    def all_pids(self) -> list[int]:
        """Every worker pid the runtime knows of (live or dying)."""
        return sorted(i.pid for i in self._instances.values() if i.pid is not None)

    @property
    def cgroups(self) -> Cgroups:
        return self._cgroups

    # --- instances -------------------------------------------------------------------

    def _arn(self, name: str, qualifier: str | None = None) -> str:
        arn = f"arn:aws:lambda:{self.config.region}:{self.config.account_id}:function:{name}"
        if qualifier and qualifier != "$LATEST":
            arn += f":{qualifier}"
        return arn

    def _invoked_arn(self, name: str, qualifier: str | None) -> str:
        """:meth:`_arn` of a known function, built once per (function, qualifier)."""
        key = (name, qualifier)
        arn = self._arns.get(key)
        if arn is None:
            arn = self._arns[key] = self._arn(name, qualifier)
        return arn

    def _reserve(self, pool: Pool) -> Instance:
        """Count a new instance against concurrency now (synchronously), or throttle."""
        if not pool.can_grow():
            raise ThrottledError(
                "Rate Exceeded.", reason="ReservedFunctionConcurrentInvocationLimitExceeded"
            )
        if self._live >= self.config.node_concurrency and not self._evict_idle(pool):
            raise ThrottledError("Rate Exceeded.", reason="ConcurrentInvocationLimitExceeded")
        config = pool.config
        instance_id = uuid.uuid4().hex
        stream = log_stream_name(instance_id, config.version)
        marker = b"\x00\x1eovercast-end-" + secrets.token_hex(16).encode() + b"\n"
        instance = Instance(instance_id, config, stream, marker, self._cgroups)
        pool.add(instance)
        self._live += 1
        self._instances[instance_id] = instance
        return instance

    def _evict_idle(self, keep: Pool) -> bool:
        """At the node limit, retire the oldest idle instance of another function."""
        candidates = [
            i for p in self._pools.values() if p is not keep if (i := p.oldest_idle()) is not None
        ]
        if not candidates:
            return False
        victim = min(candidates, key=lambda instance: instance.last_used)
        self._retire(victim)
        return True

    def _forget(self, instance: Instance) -> None:
        """The instance no longer counts against concurrency (its process may still exit)."""
        pool = self._pools.get(instance.config.name)
        if pool is not None and instance in pool.instances:
            pool.remove(instance)
            self._live -= 1

    def _retire(self, instance: Instance) -> None:
        state = instance.apply(Event.RETIRE)
        if state is State.DEAD:
            instance.kill()
            self._forget(instance)

    def _on_exit(self, exited: Exited) -> None:
        instance = self._instances.pop(exited.instance_id, None)
        if instance is None:
            return
        if instance.state is State.IDLE:
            # Died on its own while idle; busy or starting ones are settled by their caller.
            instance.apply(Event.DIE)
            self._forget(instance)
        instance.on_exit(exited)
        if instance.group is not None:
            self._cgroups.kill(instance.group)
            if not self._cgroups.remove(instance.group):
                self._stale_groups.append(instance.group)

    def _zygote_key(self, config: FunctionConfig) -> ZygoteKey:
        deps = self._deps.get(config.name)
        if self.config.sandbox is None:
            return (deps, None)
        identity = "\n".join(
            (
                os.path.realpath(self.config.state_dir),
                self.config.stage,
                config.sandbox_identity,
            )
        )
        request = SandboxRequest(
            identity=identity,
            code_dir=config.code_dir,
            deps_dir=deps,
            tmp_mb=config.ephemeral_storage_mb,
            grants=config.network,
            volumes=tuple(
                (os.path.join(self.config.state_dir, "volumes", v.name), v.mount_path)
                for v in config.volumes
            ),
            hidden=(self.config.state_dir,),
        )
        return (deps, request)

    async def _zygote(self, key: ZygoteKey) -> ZygoteClient:
        zygote = self._zygotes.get(key)
        if zygote is not None and zygote.alive:
            return zygote
        lock = self._zygote_lock
        if lock is None:
            raise ServiceError("the runtime is not started")
        async with lock:
            zygote = self._zygotes.get(key)
            if zygote is not None and zygote.alive:
                return zygote
            if zygote is not None:
                logger.warning("zygote %s is gone; starting a new one", zygote.pid)
                for relay in self._relays.pop(key, []):
                    await relay.aclose()
                await zygote.aclose()
            deps_dir, request = key
            sandbox = None
            if request is not None and self.config.sandbox is not None:
                sandbox = await asyncio.to_thread(
                    plan, request, self.config.sandbox, sandbox_root(self.config.state_dir)
                )
                deps_dir = instance_paths(deps_dir is not None)["deps_dir"] or None
            zygote = ZygoteClient(
                deps_dir, list(self.config.preload_modules), self._on_exit, sandbox=sandbox
            )
            await zygote.start()
            if sandbox is not None:
                relays = [
                    PortRelay(listener, target, f"sandbox of {request.code_dir if request else ''}")
                    for listener, target in zip(
                        zygote.listeners, sandbox.relay_targets, strict=True
                    )
                ]
                zygote.listeners = []
                for relay in relays:
                    await relay.start()
                self._relays[key] = relays
            self._zygotes[key] = zygote
            return zygote

    def _environment(
        self, config: FunctionConfig, instance: Instance, provisioned: bool
    ) -> dict[str, str]:
        """Lambda's runtime environment variables.

        https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
        Unreserved ones (LANG, PATH, PYTHONPATH...) may be overridden by the function's
        own variables; reserved ones may not.
        """
        deps = self._deps.get(config.name)
        if self.config.sandbox is not None:
            paths = lambda_environment()
            task_root, runtime_dir = paths.pop("LAMBDA_TASK_ROOT"), paths.pop("LAMBDA_RUNTIME_DIR")
            env = {"LANG": "en_US.UTF-8", **paths}
            sandbox = self.config.sandbox
            direct = (*config.network, *(port.inside for port in sandbox.platform_ports))
            env.update(egress_environment(sandbox.egress_proxy, direct))
        else:
            python_dir = os.path.dirname(sys.executable)
            runtime_dir = os.path.dirname(os.path.abspath(__file__))
            task_root = config.code_dir
            env = {
                "LANG": "en_US.UTF-8",
                "PATH": f"{python_dir}:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
                "LD_LIBRARY_PATH": f"{config.code_dir}:{config.code_dir}/lib",
                "PYTHONPATH": ":".join(
                    [config.code_dir] + ([deps] if deps else []) + [runtime_dir]
                ),
            }
        env.update(config.environment)
        env.update(
            {
                "_HANDLER": config.handler,
                "AWS_REGION": self.config.region,
                "AWS_DEFAULT_REGION": self.config.region,
                "AWS_EXECUTION_ENV": _execution_env(config.runtime),
                "AWS_LAMBDA_FUNCTION_NAME": config.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
                "AWS_LAMBDA_FUNCTION_VERSION": config.version,
                "AWS_LAMBDA_INITIALIZATION_TYPE": (
                    "provisioned-concurrency" if provisioned else "on-demand"
                ),
                "AWS_LAMBDA_LOG_GROUP_NAME": log_group_name(config.name),
                "AWS_LAMBDA_LOG_STREAM_NAME": instance.stream,
                "LAMBDA_TASK_ROOT": task_root,
                "LAMBDA_RUNTIME_DIR": runtime_dir,
                "TZ": ":UTC",
            }
        )
        return env

    async def _launch(self, instance: Instance, provisioned: bool = False) -> None:
        """Create the instance's cgroup, socket and log pipe and have the zygote fork it."""
        config = instance.config
        writer = self._writer
        if writer is None:
            raise ServiceError("the runtime is not started")
        loop = asyncio.get_running_loop()
        try:
            instance.group = self._cgroups.create(
                instance.id, config.memory_mb, self.config.max_pids
            )
        except OSError as exc:
            logger.warning("no cgroup for %s (%s); using the RSS watchdog", config.name, exc)
            instance.group = None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        log_r, log_w = os.pipe()
        cgroup_fds: list[int] = []
        try:
            ours.setblocking(False)
            _, protocol = await loop.create_unix_connection(
                lambda: WorkerProtocol(instance), sock=ours
            )
            instance.protocol = protocol
            log = InstanceLog(
                writer, config.name, instance.stream, instance.marker, config.log_redactor
            )
            instance.log = log
            await loop.connect_read_pipe(lambda: log, os.fdopen(log_r, "rb", buffering=0))
            log_r = -1
            key = self._zygote_key(config)
            code_dir, deps_dir = config.code_dir, self._deps.get(config.name)
            if key[1] is not None:
                inside = instance_paths(deps_dir is not None)
                code_dir, deps_dir = inside["code_dir"], inside["deps_dir"] or None
            spec = WorkerSpec(
                function_name=config.name,
                handler=config.handler,
                code_dir=code_dir,
                deps_dir=deps_dir,
                env=self._environment(config, instance, provisioned),
                marker=instance.marker,
                dont_write_bytecode=self.config.watch_code,
            )
            zygote = await self._zygote(key)
            if instance.group is not None:
                cgroup_fds = [os.open(p, os.O_WRONLY) for p in instance.group.procs_files]
            instance.pid = await zygote.spawn(
                instance.id, spec, (theirs.fileno(), log_w), tuple(cgroup_fds)
            )
        except (ZygoteError, OSError) as exc:
            instance.apply(Event.DIE)
            self._forget(instance)
            self._instances.pop(instance.id, None)
            instance.close_transports()
            if instance.group is not None:
                self._cgroups.remove(instance.group)
            raise ServiceError(f"could not start an instance of {config.name}: {exc}") from exc
        finally:
            theirs.close()
            os.close(log_w)
            for fd in cgroup_fds:
                os.close(fd)
            if log_r >= 0:
                os.close(log_r)

    async def _prewarm(self, pool: Pool) -> None:
        instance = self._reserve(pool)
        try:
            await self._launch(instance, provisioned=True)
        except ServiceError:
            logger.exception("could not start a provisioned instance of %s", pool.config.name)
            return
        outcome = await instance.wait_init(max(pool.config.timeout_s, PROVISIONED_INIT_TIMEOUT_S))
        if isinstance(outcome, Ready):
            instance.init_duration_ms = None  # provisioned: no Init Duration on REPORT
            if instance.apply(Event.READY) is State.IDLE:
                pool.park(instance)
            else:
                instance.kill()
                self._forget(instance)
        else:
            instance.apply(Event.DIE)
            instance.kill()
            self._forget(instance)

    async def _top_up_provisioned(self) -> None:
        jobs = []
        for pool in self._pools.values():
            missing = pool.config.provisioned_concurrency - pool.size
            for _ in range(max(0, missing)):
                if self._live >= self.config.node_concurrency:
                    break
                jobs.append(self._prewarm(pool))
        if jobs:
            await asyncio.gather(*jobs)

    # --- invocations -----------------------------------------------------------------

    async def _cold_invoke(
        self, pool: Pool, instance: Instance, request: InvokeRequest
    ) -> InvokeResult:
        await self._launch(instance)
        config = pool.config
        started = time.perf_counter()
        outcome = await instance.wait_init(INIT_TIMEOUT_S)
        if isinstance(outcome, Failure) and outcome.timed_out:
            instance, outcome = await self._retry_init(pool, instance)
            started = time.perf_counter()
        if isinstance(outcome, Ready):
            instance.apply(Event.CLAIM)
            return await self._start(pool, instance, request, outcome.init_duration_ms)
        request_id = request.request_id or new_request_id()
        record = InvocationLog(request_id, config.version, request.want_log_tail)
        log = instance.log
        if log is not None:
            log.begin(record)
        instance.apply(Event.DIE)
        instance.kill()
        self._forget(instance)
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        if isinstance(outcome, InitFailed):
            payload = outcome.error
            # As Lambda reports it, Duration is the failed Init's; metrics also count
            # it as a cold start.
            report = self._report(
                config,
                request,
                request_id,
                duration_ms=outcome.init_duration_ms,
                max_used_mb=0,
                init_duration_ms=None,
                error=True,
                metered_init_ms=outcome.init_duration_ms,
            )
            lines = [end_line(request_id), report]
            timed_out = False
        else:
            payload, lines, timed_out = self._failure_result(
                instance, outcome, request_id, elapsed_ms, request=request
            )
        return await self._finish(
            instance,
            record,
            request,
            payload=payload,
            function_error="Unhandled",
            lines=lines,
            timed_out=timed_out,
        )

    async def _retry_init(self, pool: Pool, failed: Instance) -> tuple[Instance, InitOutcome]:
        """Lambda's suppressed Init: past 10 s, a fresh instance retries the Init within
        the first invocation, bounded by the function's Timeout."""
        if failed.log is not None:
            failed.log.write(
                lambda_errors.init_report_line(INIT_TIMEOUT_S * 1000.0, "init", "timeout")
            )
        failed.apply(Event.DIE)
        failed.kill()
        self._forget(failed)
        try:
            retry = self._reserve(pool)
        except ThrottledError:
            return failed, Failure(timed_out=True, exit_code=None, signal=None, oom=False)
        await self._launch(retry)
        outcome = await retry.wait_init(pool.config.timeout_s)
        if isinstance(outcome, Failure) and outcome.timed_out and retry.log is not None:
            retry.log.write(
                lambda_errors.init_report_line(pool.config.timeout_s * 1000.0, "invoke", "timeout")
            )
        return retry, outcome

    def _start(
        self, pool: Pool, instance: Instance, request: InvokeRequest, init_duration_ms: float | None
    ) -> asyncio.Future[InvokeResult]:
        """Send the invocation; the future gets its result once the instance is settled."""
        config = pool.config
        request_id = request.request_id or new_request_id()
        record = InvocationLog(request_id, config.version, request.want_log_tail)
        log = instance.log
        if log is not None:
            log.begin(record)
        timeout_s = config.timeout_s
        message = Invoke(
            request_id,
            request.payload,
            int(time.time() * 1000 + timeout_s * 1000),
            self._invoked_arn(config.name, request.qualifier),
            request.client_context,
        )
        invocation = _Invocation(
            self, pool, instance, request, record, init_duration_ms=init_duration_ms
        )
        self._inflight += 1
        instance.invoke(message, timeout_s, invocation)
        return invocation.waiter

    def _settle(self, invocation: _Invocation, outcome: Outcome) -> None:
        """The invocation ended: settle the instance and its log, then answer its waiter.

        Runs whether or not anyone still waits (a caller may stop waiting; the
        invocation runs to its end regardless), straight from the event that ended it.
        """
        self._inflight -= 1
        if self._inflight == 0 and self._drained is not None:
            self._drained.set()
        try:
            self._settle_outcome(invocation, outcome)
        except Exception as exc:  # noqa: BLE001 - a bug reaches the caller, not the event loop
            if not invocation.waiter.done():
                invocation.waiter.set_exception(exc)

    def _settle_outcome(self, invocation: _Invocation, outcome: Outcome) -> None:
        pool, instance = invocation.pool, invocation.instance
        config = pool.config
        request_id = invocation.record.request_id
        if isinstance(outcome, Done):
            payload = outcome.payload
            function_error = "Unhandled" if outcome.is_error else None
            if outcome.is_error and config.log_redactor is not None:
                # An error message quoting a secret reaches the caller masked, as the log does.
                payload = config.log_redactor(payload.decode("utf-8", "replace")).encode()
            if len(payload) > MAX_SYNC_PAYLOAD_BYTES:
                payload = lambda_errors.error_json(
                    lambda_errors.response_too_large_error(MAX_SYNC_PAYLOAD_BYTES)
                )
                function_error = "Unhandled"
            lines = [
                end_line(request_id),
                self._report(
                    config,
                    invocation.request,
                    request_id,
                    duration_ms=outcome.duration_ms,
                    max_used_mb=kb_to_mb(outcome.max_rss_kb),
                    init_duration_ms=invocation.init_duration_ms,
                    error=function_error is not None,
                ),
            ]
            if instance.apply(Event.RELEASE) is State.IDLE and not self._closing:
                pool.park(instance)
            else:
                instance.apply(Event.DIE)
                instance.kill()
                self._forget(instance)
            self._complete(invocation, payload, function_error, lines, timed_out=False)
            return
        elapsed_ms = (time.perf_counter() - invocation.started) * 1000.0
        instance.apply(Event.DIE)
        instance.kill()
        self._forget(instance)
        payload, lines, timed_out = self._failure_result(
            instance,
            outcome,
            request_id,
            elapsed_ms,
            invocation.init_duration_ms,
            request=invocation.request,
        )
        self._complete(invocation, payload, "Unhandled", lines, timed_out=timed_out)

    def _failure_result(
        self,
        instance: Instance,
        failure: Failure,
        request_id: str,
        elapsed_ms: float,
        init_duration_ms: float | None = None,
        *,
        request: InvokeRequest,
    ) -> tuple[bytes, list[str], bool]:
        config = instance.config
        used = None
        if instance.group is not None:
            used = self._cgroups.max_usage_mb(instance.group)
        if failure.oom:
            used = config.memory_mb
        report = self._report(
            config,
            request,
            request_id,
            duration_ms=elapsed_ms,
            max_used_mb=used or 0,
            init_duration_ms=init_duration_ms,
            error=True,
            timed_out=failure.timed_out,
        )
        if failure.timed_out:
            message = lambda_errors.timeout_message(request_id, config.timeout_s)
            payload = lambda_errors.error_json(
                lambda_errors.timeout_error(request_id, config.timeout_s)
            )
            return payload, [end_line(request_id), report, message], True
        payload = lambda_errors.error_json(
            lambda_errors.exit_error(request_id, failure.exit_code, failure.signal)
        )
        lines = [
            end_line(request_id),
            report,
            lambda_errors.exit_error_log(request_id, failure.exit_code, failure.signal),
        ]
        return payload, lines, False

    def _report(
        self,
        config: FunctionConfig,
        request: InvokeRequest,
        request_id: str,
        *,
        duration_ms: float,
        max_used_mb: int,
        init_duration_ms: float | None,
        error: bool,
        timed_out: bool = False,
        metered_init_ms: float | None = None,
    ) -> str:
        """The REPORT line, after telling the recorder (whose price ends the line).

        ``metered_init_ms`` is an Init time the metrics count although the line does
        not show it as Init Duration (a failed Init).
        """
        recorder = self.recorder
        cost: Decimal | None = None
        if recorder is not None:
            report = InvocationReport(
                function_name=config.name,
                version=config.version,
                stage=self.config.stage,
                stack=self.config.stack,
                duration_ms=duration_ms,
                billed_ms=billed_duration_ms(duration_ms, init_duration_ms),
                memory_mb=config.memory_mb,
                max_memory_used_mb=max_used_mb,
                init_duration_ms=init_duration_ms if metered_init_ms is None else metered_init_ms,
                error=error,
                timed_out=timed_out,
                api_kind=request.api_kind,
            )
            try:
                cost = recorder.record_invocation(report)
            except Exception:  # a metrics bug must not cost the invocation
                logger.exception("the invocation recorder failed on %s", config.name)
        return report_line(
            request_id, duration_ms, config.memory_mb, max_used_mb, init_duration_ms, cost_usd=cost
        )

    def _record_throttle(self, config: FunctionConfig, request: InvokeRequest) -> None:
        recorder = self.recorder
        if recorder is None:
            return
        report = InvocationReport(
            function_name=config.name,
            version=config.version,
            stage=self.config.stage,
            stack=self.config.stack,
            duration_ms=0.0,
            billed_ms=0,
            memory_mb=config.memory_mb,
            throttled=True,
            api_kind=request.api_kind,
        )
        try:
            recorder.record_invocation(report)
        except Exception:  # a metrics bug must not change the answer
            logger.exception("the invocation recorder failed on %s", config.name)

    def _complete(
        self,
        invocation: _Invocation,
        payload: bytes,
        function_error: str | None,
        lines: list[str],
        *,
        timed_out: bool,
    ) -> None:
        """Close the invocation's log and answer its waiter (after the log's tail if asked)."""
        instance, record, waiter = invocation.instance, invocation.record, invocation.waiter
        log = instance.log
        version = instance.config.version
        request_id = record.request_id
        if not invocation.request.want_log_tail:
            if log is not None:
                log.complete(record, lines)
            if not waiter.done():
                waiter.set_result(
                    InvokeResult(payload, function_error, version, request_id, b"", timed_out)
                )
            return
        finished: asyncio.Future[None] = self._loop.create_future()
        record.finished = finished
        if log is not None:
            log.complete(record, lines)

        def deliver(_: object = None) -> None:
            timer.cancel()
            if not waiter.done():
                tail = record.tail_bytes()
                waiter.set_result(
                    InvokeResult(payload, function_error, version, request_id, tail, timed_out)
                )

        # The last lines may still be in the pipe: wait for them, but not for long.
        timer = self._loop.call_later(TAIL_WAIT_S, deliver)
        if finished.done():
            deliver()
        else:
            finished.add_done_callback(deliver)

    async def _finish(
        self,
        instance: Instance,
        record: InvocationLog,
        request: InvokeRequest,
        *,
        payload: bytes,
        function_error: str | None,
        lines: list[str],
        timed_out: bool,
    ) -> InvokeResult:
        pool = self._pools[instance.config.name]
        invocation = _Invocation(self, pool, instance, request, record, init_duration_ms=None)
        self._complete(invocation, payload, function_error, lines, timed_out=timed_out)
        return await invocation.waiter

    # --- background tasks ------------------------------------------------------------

    async def _reaper(self) -> None:
        while True:
            await asyncio.sleep(self.config.reaper_interval_s)
            now = time.monotonic()
            for pool in self._pools.values():
                for instance in pool.expired(now, self.config.idle_keepalive_s):
                    self._retire(instance)
            if self._stale_groups:
                groups, self._stale_groups = self._stale_groups, []
                for group in groups:
                    self._cgroups.kill(group)
                    if not self._cgroups.remove(group):
                        self._stale_groups.append(group)
            if not self._closing:
                await self._top_up_provisioned()

    async def _watcher(self) -> None:
        while True:
            await asyncio.sleep(self.config.watch_interval_s)
            changed = []
            for code_dir, before in self._fingerprints.items():
                after = await asyncio.to_thread(_fingerprint, code_dir)
                if after != before:
                    self._fingerprints[code_dir] = after
                    changed.append(code_dir)
            for code_dir in changed:
                for pool in self._pools.values():
                    if pool.config.code_dir == code_dir:
                        logger.info("code of %s changed; retiring its instances", pool.config.name)
                        for instance in list(pool.instances):
                            self._retire(instance)

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(WATCHDOG_INTERVAL_S)
            for instance in list(self._instances.values()):
                if instance.pid is None or not instance.live:
                    continue
                rss = rss_bytes(instance.pid)
                if rss is not None and rss > instance.config.memory_mb * 1024 * 1024:
                    instance.mark_oom()


class _Invocation:
    """One invocation in flight: what settling it needs, and the caller's future.

    Called with the instance's outcome (see :meth:`Instance.invoke`).
    """

    __slots__ = (
        "init_duration_ms",
        "instance",
        "pool",
        "record",
        "request",
        "runtime",
        "started",
        "waiter",
    )

    def __init__(
        self,
        runtime: Runtime,
        pool: Pool,
        instance: Instance,
        request: InvokeRequest,
        record: InvocationLog,
        *,
        init_duration_ms: float | None,
    ) -> None:
        self.runtime = runtime
        self.pool = pool
        self.instance = instance
        self.request = request
        self.record = record
        self.init_duration_ms = init_duration_ms
        self.waiter: asyncio.Future[InvokeResult] = runtime._loop.create_future()
        self.started = time.perf_counter()

    def __call__(self, outcome: Outcome) -> None:
        self.runtime._settle(self, outcome)


def _key_order(key: ZygoteKey) -> tuple[str, str, str]:
    deps, request = key
    if request is None:
        return (deps or "", "", "")
    return (deps or "", request.identity, request.code_dir)


def _fingerprint(code_dir: str) -> tuple[tuple[str, int, int], ...]:
    """Paths, mtimes and sizes under ``code_dir`` (bytecode caches excluded)."""
    entries = []
    for root, dirs, files in os.walk(code_dir):
        dirs[:] = [d for d in dirs if d != "__pycache__" and not d.startswith(".")]
        for name in files:
            path = os.path.join(root, name)
            with contextlib.suppress(OSError):
                stat = os.stat(path)
                entries.append((path, stat.st_mtime_ns, stat.st_size))
    entries.sort()
    return tuple(entries)
