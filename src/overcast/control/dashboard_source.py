"""The platform as the dashboard sees it: :class:`~overcast.dashboard.DashboardSource`.

Recent metrics (up to a day back) come from the alarm watcher's in-memory history, so
a chart moves seconds after an invocation; older windows from the metrics store's
rollups. Spend comes from the spend meter, alarms from the watcher, deployments from
the deploy store, rollback from the deployer, logs from each stage's log store.
Sign-in accepts the platform's access keys (admin, deployer, viewer), comparing
secrets in constant time; viewers may look, not roll back.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path

from overcast.control.access_keys import KeyStore
from overcast.control.alarm_watch import AlarmWatch
from overcast.control.deploy_store import Deployment, DeployStore
from overcast.control.deployer import Deployer, DeployError
from overcast.control.stage import Stage
from overcast.dashboard import (
    AlarmInfo,
    CostSummary,
    DeploymentInfo,
    Identity,
    LogLine,
    MetricSeries,
    MetricTotals,
    RollbackRefused,
    StageInfo,
    UnknownFunction,
    UnknownStage,
)
from overcast.observe.aggregate import Totals
from overcast.observe.forecast import month_bounds, month_forecast
from overcast.observe.metrics_store import MetricsStore
from overcast.observe.spend import CapPeriod, SpendMeter
from overcast.runtime import LogStore


class PlatformDashboardSource:
    """Implements :class:`~overcast.dashboard.DashboardSource` over a platform's pieces."""

    def __init__(
        self,
        *,
        stages: Mapping[str, Stage],
        hosts: Callable[[], Mapping[str, str]],
        store: DeployStore,
        deployer: Deployer,
        spend: SpendMeter,
        watch: AlarmWatch | None,
        metrics_store: MetricsStore | None,
        state_dir: Path,
    ) -> None:
        self._stages = stages
        self._hosts = hosts
        self._store = store
        self._deployer = deployer
        self._spend = spend
        self._watch = watch
        self._metrics_store = metrics_store
        self._state_dir = state_dir

    def _stage(self, name: str) -> Stage:
        stage = self._stages.get(name)
        if stage is None:
            raise UnknownStage(f"no stage {name!r}")
        return stage

    async def stages(self) -> Sequence[StageInfo]:
        hosts = self._hosts()
        out = []
        for name, stage in self._stages.items():
            lives = sorted(stage.lives(), key=lambda live: live.record.stack)
            out.append(
                StageInfo(
                    name=name,
                    hosts=tuple(sorted(h for h, s in hosts.items() if s == name)),
                    current_deployment=", ".join(live.record.id for live in lives) or None,
                    versions={
                        function: version
                        for live in lives
                        for function, version in live.record.versions.items()
                    },
                )
            )
        return out

    async def function_stacks(self, stage: str) -> Mapping[str, str]:
        return {
            spec.name: live.record.stack
            for live in self._stage(stage).lives()
            for spec in live.model.functions.values()
        }

    async def functions(self, stage: str) -> Sequence[str]:
        return sorted(
            function for live in self._stage(stage).lives() for function in live.router.routes
        )

    async def metrics(
        self, stage: str, function: str, *, since: float, until: float, step_s: int
    ) -> MetricSeries:
        if function not in await self.functions(stage):
            raise UnknownFunction(f"stage {stage} runs no function {function!r}")
        rows: list[tuple[int, Totals, int]]
        recent = self._watch is not None and since >= time.time() - self._watch.history.keep_s
        if recent and self._watch is not None:
            rows = [
                r
                for r in self._watch.history.buckets(stage, function, since, step_s)
                if r[0] < until
            ]
        elif self._metrics_store is not None:
            points = await asyncio.to_thread(
                self._metrics_store.series, function, since=since, until=until, stage=stage
            )
            rows = _rebucket([(p.start, p.totals) for p in points], step_s)
        else:
            rows = []
        total = Totals()
        for _, totals, _ in rows:
            total = total.merged(totals)
        return MetricSeries(
            stage=stage,
            function=function,
            step_s=step_s,
            timestamps=tuple(float(start) for start, _, _ in rows),
            invocations=tuple(t.invocations for _, t, _ in rows),
            errors=tuple(t.errors for _, t, _ in rows),
            p50_ms=tuple(t.percentile(0.5) for _, t, _ in rows),
            p99_ms=tuple(t.percentile(0.99) for _, t, _ in rows),
            cold_starts=tuple(t.cold_starts for _, t, _ in rows),
            concurrency=tuple(busy for _, _, busy in rows),
            totals=MetricTotals(
                invocations=total.invocations,
                errors=total.errors,
                cold_starts=total.cold_starts,
                throttles=total.throttles,
                p50_ms=total.percentile(0.5),
                p99_ms=total.percentile(0.99),
                peak_concurrency=max((busy for _, _, busy in rows), default=0),
            ),
        )

    async def cost(self, stage: str, *, now: float) -> CostSummary:
        self._stage(stage)
        spent = self._spend.spent(stage, CapPeriod.MONTH, now)
        return CostSummary(
            stage=stage,
            period_start=month_bounds(now)[0],
            to_date=spent,
            forecast=month_forecast(spent, now) if spent > 0 else Decimal(0),
        )

    async def alarms(self) -> Sequence[AlarmInfo]:
        if self._watch is None:
            return []
        return [
            AlarmInfo(
                name=r.name,
                state=r.state.value,
                reason=r.reason,
                updated=r.updated,
                stage=r.stage,
                description=r.description,
            )
            for r in self._watch.records()
        ]

    async def deployments(self, stage: str) -> Sequence[DeploymentInfo]:
        self._stage(stage)
        current = set(self._store.stacks(stage).values())
        return [_info(d, d.id in current) for d in self._store.history(stage)]

    async def rollback(self, stage: str, *, actor: str) -> DeploymentInfo:
        lives = self._stage(stage).lives()
        try:
            if len(lives) > 1:
                raise DeployError(
                    f"stage {stage} runs {len(lives)} stacks; roll one back with "
                    "`overcast rollback --stage STAGE --stack STACK`"
                )
            stack = lives[0].record.stack if lives else ""
            record = await self._deployer.rollback(stage, stack)
        except DeployError as exc:
            raise RollbackRefused(str(exc)) from exc
        return _info(record, False)

    async def tail_logs(
        self, stage: str, function: str, *, since_ms: int | None = None
    ) -> AsyncIterator[LogLine]:
        self._stage(stage)
        logs = LogStore(str(self._state_dir / "stages" / stage))
        async for event in logs.follow(function, since_ms):
            yield LogLine(event.timestamp_ms, event.stream, event.message)


def _info(record: Deployment, current: bool) -> DeploymentInfo:
    return DeploymentInfo(
        id=record.id,
        stage=record.stage,
        kind=record.kind,
        status=record.status,
        created=record.created,
        finished=record.finished,
        versions=dict(record.versions),
        message=record.message,
        reason=record.reason,
        current=current,
        stack=record.stack,
    )


def _rebucket(points: list[tuple[int, Totals]], step: int) -> list[tuple[int, Totals, int]]:
    merged: dict[int, Totals] = {}
    for start, totals in points:
        bucket = start // step * step
        seen = merged.get(bucket)
        merged[bucket] = totals if seen is None else seen.merged(totals)
    return [(start, totals, 0) for start, totals in sorted(merged.items())]


def key_authenticator(keys: KeyStore) -> Callable[[str, str], Identity | None]:
    """Dashboard sign-in with the platform's access keys (secrets compared in constant time)."""
    identify = key_identifier(keys)

    def authenticate(access_key_id: str, secret: str) -> Identity | None:
        key = keys.get(access_key_id)
        if key is None or not hmac.compare_digest(key.secret_access_key.encode(), secret.encode()):
            return None
        return identify(access_key_id)

    return authenticate


def key_identifier(
    keys: KeyStore, clock: Callable[[], float] = time.time
) -> Callable[[str], Identity | None]:
    """What a signed-in key grants now, from the key store as it is on disk.

    ``KeyStore.get`` reads keys.json again whenever it changed, so a key revoked with
    ``overcast keys revoke`` while the platform runs is None from then on.
    """

    def identify(access_key_id: str) -> Identity | None:
        key = keys.get(access_key_id)
        if key is None or key.role == "function":
            return None
        if key.expires is not None and key.expires <= clock():
            return None
        return Identity(
            access_key_id=key.access_key_id,
            can_rollback=key.role in ("admin", "deployer"),
            stages=key.stages,
            stacks=key.stacks,
            expires=key.expires,
        )

    return identify
