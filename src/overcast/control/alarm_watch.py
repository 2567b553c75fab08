"""Evaluating every alarm and budget of a platform, and telling people when one changes.

Every ``interval_s`` the watcher snapshots the metrics aggregator into a
:class:`~overcast.observe.history.MetricHistory` (plus each function's busy instances),
then evaluates, per stage, the current deployment's ``AWS::CloudWatch::Alarm`` and
``AWS::Budgets::Budget`` resources and the platform's per-stage pricing alarms
(``AWS/Billing EstimatedCharges``). A state change becomes a notice for the
:class:`~overcast.observe.notify.Notifier` (signed webhooks, e-mail). States live in
memory; the admin API, the CLI and the dashboard read :meth:`AlarmWatch.records`.

What is measured: ``AWS/Lambda`` Invocations, Errors, Throttles, Duration and
ConcurrentExecutions by FunctionName (all the stage's functions without one), and
EstimatedCharges by stage. ``AWS/ApiGateway`` alarms parse but have no data here yet:
they stay INSUFFICIENT_DATA, or follow their ``TreatMissingData``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from overcast.errors import OvercastError
from overcast.observe.alarm_specs import (
    BILLING_NAMESPACE,
    LAMBDA_NAMESPACE,
    TemplateAlarm,
    alarms_from_model,
    estimated_charges_alarm,
)
from overcast.observe.alarms import AlarmState, Transition
from overcast.observe.budgets import (
    BudgetSpec,
    BudgetState,
    TimeUnit,
    budgets_from_model,
    evaluate_budget,
    linear_forecast,
)
from overcast.observe.history import MetricHistory
from overcast.observe.notify import Notifier, budget_notices, notice_for_alarm
from overcast.observe.recorder import Metrics
from overcast.observe.spend import CapPeriod, SpendMeter
from overcast.template import AppModel

logger = logging.getLogger("overcast.control.alarm_watch")

DEFAULT_INTERVAL_S = 10.0


@dataclass(frozen=True, slots=True)
class AlarmRecord:
    """One alarm's state as the watcher last saw it."""

    name: str
    stage: str | None
    state: AlarmState
    reason: str
    updated: float
    description: str = ""


@dataclass(slots=True)
class _StageRules:
    deployment: str
    alarms: dict[str, TemplateAlarm]
    budgets: list[BudgetSpec]
    functions: tuple[str, ...]


@dataclass(slots=True)
class _Entry:
    state: AlarmState = AlarmState.INSUFFICIENT_DATA
    reason: str = "Unchecked: Initial alarm creation"
    updated: float = 0.0
    budget_states: dict[str, BudgetState] = field(default_factory=dict)


class AlarmWatch:
    """Owns alarm state for every stage; :meth:`run` is its background loop."""

    def __init__(
        self,
        metrics: Metrics,
        spend: SpendMeter,
        deployments: Callable[[], Mapping[str, tuple[str, Sequence[AppModel]] | None]],
        *,
        busy: Callable[[], Mapping[tuple[str, str], int]] = dict,
        notifier: Notifier | None = None,
        pricing_alarms: Mapping[str, Decimal] | None = None,
        defined: Callable[[], Mapping[str, Mapping[str, TemplateAlarm]]] = dict,
        interval_s: float = DEFAULT_INTERVAL_S,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.metrics = metrics
        self.spend = spend
        self.history = MetricHistory()
        self.notifier = notifier
        self.interval_s = interval_s
        self._deployments = deployments
        #: alarms defined on the platform (PutMetricAlarm), by stage and name
        self._defined = defined
        self._busy = busy
        self._region = region
        self._account_id = account_id
        self._clock = clock
        self._rules: dict[str, _StageRules] = {}
        self._entries: dict[tuple[str | None, str], _Entry] = {}
        self._pricing = {
            stage: estimated_charges_alarm(stage, float(threshold))
            for stage, threshold in (pricing_alarms or {}).items()
        }
        self._descriptions: dict[tuple[str | None, str], str] = {}

    async def run(self) -> None:
        """Evaluate every ``interval_s`` until cancelled."""
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                self.tick(self._clock())
            except Exception:
                # A bad alarm must not stop the others from being watched next time.
                logger.exception("alarm evaluation failed")

    def tick(self, now: float) -> list[Transition]:
        """Snapshot the metrics and evaluate everything once; the state changes."""
        self.history.observe(self.metrics.aggregator.totals(), now, self._busy())
        changes: list[Transition] = []
        for stage, current in self._deployments().items():
            rules = self._rules_for(stage, current)
            if rules is None:
                continue
            for alarm in rules.alarms.values():
                changes.extend(self._evaluate(stage, alarm, rules, now))
            for budget in rules.budgets:
                self._evaluate_budget(stage, budget, now)
        for stage, alarm in self._pricing.items():
            changes.extend(self._evaluate(stage, alarm, None, now))
        for stage, alarms in self._defined().items():
            rules = self._rules.get(stage)
            for alarm in alarms.values():
                changes.extend(self._evaluate(stage, alarm, rules, now))
        return changes

    def records(self) -> list[AlarmRecord]:
        """Every alarm and budget notification with its state, ALARM first."""
        out = [
            AlarmRecord(
                name,
                stage,
                entry.state,
                entry.reason,
                entry.updated,
                self._descriptions.get((stage, name), ""),
            )
            for (stage, name), entry in self._entries.items()
        ]
        order = {AlarmState.ALARM: 0, AlarmState.INSUFFICIENT_DATA: 1, AlarmState.OK: 2}
        return sorted(out, key=lambda r: (order[r.state], r.stage or "", r.name))

    # --- evaluation ------------------------------------------------------------------

    def _rules_for(
        self, stage: str, current: tuple[str, Sequence[AppModel]] | None
    ) -> _StageRules | None:
        """The alarms and budgets of what ``stage`` runs now (every stack's template)."""
        if current is None:
            self._rules.pop(stage, None)
            return None
        deployment, models = current
        rules = self._rules.get(stage)
        if rules is not None and rules.deployment == deployment:
            return rules
        names = tuple(spec.name for model in models for spec in model.functions.values())
        try:
            alarms: dict[str, TemplateAlarm] = {}
            budgets: list[BudgetSpec] = []
            for model in models:
                own = tuple(spec.name for spec in model.functions.values())
                alarms.update(alarms_from_model(model.alarms, own))
                budgets.extend(budgets_from_model(model.budgets, own).values())
        except OvercastError as exc:
            # A deploy already loaded the template; an alarm it cannot evaluate is
            # reported once and skipped rather than stopping every other alarm.
            logger.error(
                "stage %s: alarms of deployment %s are ignored: %s", stage, deployment, exc
            )
            alarms, budgets = {}, []
        rules = self._rules[stage] = _StageRules(deployment, dict(alarms), budgets, names)
        return rules

    def _samples(
        self, stage: str, alarm: TemplateAlarm, rules: _StageRules | None, now: float
    ) -> dict[int, list[float]]:
        metric = alarm.metric
        period = alarm.spec.period_seconds
        since = now - period * (alarm.spec.range_periods + 1)
        if metric.namespace == BILLING_NAMESPACE:
            target = metric.dimension("Stage") or stage
            spent = self.spend.spent(target, CapPeriod.MONTH, now)
            return {int(now // period) * period - period: [float(spent)]}
        if metric.namespace != LAMBDA_NAMESPACE or rules is None:
            return {}
        function = metric.dimension("FunctionName")
        resource = metric.dimension("Resource")
        if function is None and resource is not None:
            function = resource.split(":", 1)[0]
        names = (function,) if function is not None else rules.functions
        merged: dict[int, list[float]] = {}
        for name in names:
            for start, values in self.history.samples(
                stage, name, metric.name, period, since
            ).items():
                merged.setdefault(start, []).extend(values)
        if function is None and metric.name != "Duration":
            # Every function's count in one interval is one datapoint, not one each.
            return {start: [sum(values)] for start, values in merged.items()}
        return merged

    def _evaluate(
        self, stage: str, alarm: TemplateAlarm, rules: _StageRules | None, now: float
    ) -> list[Transition]:
        key = (stage, alarm.name)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry(updated=now)
            self._descriptions[key] = f"{alarm.metric} {alarm.statistic_label}"
        state, transition = alarm.step(self._samples(stage, alarm, rules, now), now, entry.state)
        if transition is None:
            return []
        entry.state, entry.reason, entry.updated = state, transition.reason, now
        if self.notifier is not None:
            self.notifier.notify(
                notice_for_alarm(
                    alarm,
                    transition,
                    stage=stage,
                    region=self._region,
                    account_id=self._account_id,
                )
            )
        return [transition]

    def _evaluate_budget(self, stage: str, budget: BudgetSpec, now: float) -> None:
        period = CapPeriod.DAY if budget.time_unit is TimeUnit.DAILY else CapPeriod.MONTH
        actual = self.spend.spent(stage, period, now)
        forecast = linear_forecast(actual, budget.time_unit, now)
        evaluation = evaluate_budget(budget, actual, forecast)
        key = (stage, budget.name)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry(updated=now)
            self._descriptions[key] = f"budget ${budget.limit_usd} per {budget.time_unit}"
        notices = budget_notices(evaluation, entry.budget_states, now, stage=stage)
        entry.budget_states = {note.key: evaluation.state_of(note) for note in budget.notifications}
        worst = (
            AlarmState.ALARM if BudgetState.ALARM in entry.budget_states.values() else AlarmState.OK
        )
        if worst is not entry.state:
            entry.state, entry.updated = worst, now
            entry.reason = (
                f"spent ${actual} of ${budget.limit_usd} this period (forecast ${forecast})"
                if forecast is not None
                else ""
            )
        if self.notifier is not None:
            for notice in notices:
                self.notifier.notify(notice)
