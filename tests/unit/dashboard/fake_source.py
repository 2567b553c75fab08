"""An in-memory :class:`DashboardSource` for tests: record invocations, alarms, logs.

Thread-safe, so a test thread can feed it while the dashboard serves from another
thread's event loop (the browser test). Percentiles are exact (nearest rank) over
the recorded durations, which keeps expected values easy to compute by hand.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from overcast.dashboard import (
    AlarmInfo,
    AlarmStateName,
    CostSummary,
    DeploymentInfo,
    LogLine,
    MetricSeries,
    MetricTotals,
    RollbackRefused,
    StageInfo,
    UnknownFunction,
    UnknownStage,
)


@dataclass(frozen=True, slots=True)
class Invocation:
    at: float
    duration_ms: float
    error: bool = False
    cold: bool = False
    concurrency: int = 1


@dataclass
class _Stage:
    info: StageInfo
    functions: list[str]
    cost: CostSummary
    deployments: list[DeploymentInfo] = field(default_factory=list)


def nearest_rank(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile by nearest rank (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


class FakeSource:
    """Stages, functions, invocations, alarms, deployments and logs, all in memory."""

    def __init__(self, clock: object = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._stages: dict[str, _Stage] = {}
        self._invocations: dict[tuple[str, str], list[Invocation]] = {}
        self._alarms: dict[str, AlarmInfo] = {}
        self._logs: dict[tuple[str, str], list[LogLine]] = {}
        self.rollbacks: list[tuple[str, str]] = []
        self.refuse_rollback: str | None = None
        self.metrics_calls: list[tuple[str, str, float, float, int]] = []
        self.open_tails = 0

    def _now(self) -> float:
        return self._clock()  # type: ignore[operator, no-any-return]

    # -- feeding it ------------------------------------------------------------------

    def add_stage(
        self,
        name: str,
        functions: Sequence[str],
        *,
        hosts: Sequence[str] = (),
        versions: dict[str, int] | None = None,
        to_date: str = "0",
        forecast: str = "0",
    ) -> None:
        now = self._now()
        month_start = now - 10 * 86400
        with self._lock:
            self._stages[name] = _Stage(
                StageInfo(name, tuple(hosts), None, versions or dict.fromkeys(functions, 1)),
                list(functions),
                CostSummary(name, month_start, Decimal(to_date), Decimal(forecast)),
            )

    def add_deployment(
        self,
        stage: str,
        deployment_id: str,
        *,
        kind: str = "deploy",
        status: str = "Succeeded",
        created: float | None = None,
        message: str = "",
        reason: str = "",
    ) -> DeploymentInfo:
        """A new deployment that becomes the stage's current one."""
        with self._lock:
            entry = self._stages[stage]
            record = DeploymentInfo(
                id=deployment_id,
                stage=stage,
                kind=kind,
                status=status,
                created=self._now() if created is None else created,
                finished=self._now(),
                versions=dict(entry.info.versions),
                message=message,
                reason=reason,
                current=True,
            )
            entry.deployments = [record, *(replace(d, current=False) for d in entry.deployments)]
            entry.info = replace(entry.info, current_deployment=deployment_id)
            return record

    def set_cost(self, stage: str, to_date: str, forecast: str) -> None:
        with self._lock:
            entry = self._stages[stage]
            entry.cost = replace(entry.cost, to_date=Decimal(to_date), forecast=Decimal(forecast))

    def record(self, stage: str, function: str, invocation: Invocation) -> None:
        with self._lock:
            self._invocations.setdefault((stage, function), []).append(invocation)

    def record_many(
        self, stage: str, function: str, count: int, *, duration_ms: float = 10.0, **kwargs: object
    ) -> None:
        now = self._now()
        for _ in range(count):
            self.record(stage, function, Invocation(now, duration_ms, **kwargs))  # type: ignore[arg-type]

    def set_alarm(
        self,
        name: str,
        state: AlarmStateName,
        reason: str = "",
        *,
        stage: str | None = None,
        description: str = "",
    ) -> None:
        with self._lock:
            self._alarms[name] = AlarmInfo(name, state, reason, self._now(), stage, description)

    def log(self, stage: str, function: str, message: str, *, stream: str = "s1") -> None:
        with self._lock:
            self._logs.setdefault((stage, function), []).append(
                LogLine(int(self._now() * 1000), stream, message)
            )

    # -- DashboardSource ---------------------------------------------------------------

    def _stage(self, name: str) -> _Stage:
        entry = self._stages.get(name)
        if entry is None:
            raise UnknownStage(f"no stage {name}")
        return entry

    def _function(self, stage: str, function: str) -> None:
        if function not in self._stage(stage).functions:
            raise UnknownFunction(f"stage {stage} runs no function {function}")

    async def stages(self) -> Sequence[StageInfo]:
        with self._lock:
            return [s.info for s in self._stages.values()]

    async def functions(self, stage: str) -> Sequence[str]:
        with self._lock:
            return list(self._stage(stage).functions)

    async def function_stacks(self, stage: str) -> Mapping[str, str]:
        with self._lock:
            return dict.fromkeys(self._stage(stage).functions, "app")

    async def metrics(
        self, stage: str, function: str, *, since: float, until: float, step_s: int
    ) -> MetricSeries:
        with self._lock:
            self._function(stage, function)
            self.metrics_calls.append((stage, function, since, until, step_s))
            recorded = [
                i for i in self._invocations.get((stage, function), []) if since <= i.at < until
            ]
        count = max(0, math.ceil((until - since) / step_s))
        buckets: list[list[Invocation]] = [[] for _ in range(count)]
        for invocation in recorded:
            buckets[int((invocation.at - since) // step_s)].append(invocation)
        durations = [i.duration_ms for i in recorded]
        return MetricSeries(
            stage=stage,
            function=function,
            step_s=step_s,
            timestamps=tuple(since + n * step_s for n in range(count)),
            invocations=tuple(len(b) for b in buckets),
            errors=tuple(sum(i.error for i in b) for b in buckets),
            p50_ms=tuple(nearest_rank([i.duration_ms for i in b], 0.5) for b in buckets),
            p99_ms=tuple(nearest_rank([i.duration_ms for i in b], 0.99) for b in buckets),
            cold_starts=tuple(sum(i.cold for i in b) for b in buckets),
            concurrency=tuple(max((i.concurrency for i in b), default=0) for b in buckets),
            totals=MetricTotals(
                invocations=len(recorded),
                errors=sum(i.error for i in recorded),
                cold_starts=sum(i.cold for i in recorded),
                p50_ms=nearest_rank(durations, 0.5),
                p99_ms=nearest_rank(durations, 0.99),
                peak_concurrency=max((i.concurrency for i in recorded), default=0),
            ),
        )

    async def cost(self, stage: str, *, now: float) -> CostSummary:
        with self._lock:
            return self._stage(stage).cost

    async def alarms(self) -> Sequence[AlarmInfo]:
        with self._lock:
            return list(self._alarms.values())

    async def deployments(self, stage: str) -> Sequence[DeploymentInfo]:
        with self._lock:
            return list(self._stage(stage).deployments)

    async def rollback(self, stage: str, *, actor: str) -> DeploymentInfo:
        with self._lock:
            entry = self._stage(stage)
            if self.refuse_rollback is not None:
                raise RollbackRefused(self.refuse_rollback)
            earlier = [d for d in entry.deployments if not d.current and d.status == "Succeeded"]
            if not earlier:
                raise RollbackRefused(f"stage {stage} has no earlier deployment to go back to")
            self.rollbacks.append((stage, actor))
            target = earlier[0]
            new_id = f"d-RB{len(self.rollbacks):07d}"
        return self.add_deployment(
            stage, new_id, kind="rollback", message=f"rollback to {target.id} by {actor}"
        )

    async def tail_logs(
        self, stage: str, function: str, *, since_ms: int | None = None
    ) -> AsyncIterator[LogLine]:
        with self._lock:
            self._function(stage, function)
            lines = self._logs.setdefault((stage, function), [])
            position = len(lines) if since_ms is None else 0
        self.open_tails += 1
        try:
            while True:
                with self._lock:
                    fresh = lines[position:]
                    position = len(lines)
                for line in fresh:
                    if since_ms is None or line.timestamp_ms >= since_ms:
                        yield line
                await asyncio.sleep(0.02)
        finally:
            self.open_tails -= 1
