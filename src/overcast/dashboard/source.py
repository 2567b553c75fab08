"""What the dashboard shows, behind one typed Protocol: :class:`DashboardSource`.

The dashboard never reaches into the platform itself; an adapter implements this
Protocol from the platform's pieces (the deploy store and deployer, the metrics store
and in-memory aggregator, the alarm evaluator, the stage log stores) and the app only
renders what it returns. Every method is ``async`` so an adapter may read a store off
the event loop; one that reads memory just returns.

Times are Unix epoch seconds (floats) except log lines, which keep the log store's
epoch milliseconds. Money is :class:`~decimal.Decimal` US dollars, as priced.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

from overcast.dashboard.errors import DashboardError

AlarmStateName = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]


@dataclass(frozen=True, slots=True)
class StageInfo:
    """One stage: where it is reached and what it runs now."""

    name: str
    hosts: tuple[str, ...] = ()
    #: the current deployment's id, None when nothing is deployed
    current_deployment: str | None = None
    #: function name → version number the stage's alias points at
    versions: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MetricTotals:
    """One function's numbers over a whole window (percentiles from the merged histogram)."""

    invocations: int = 0
    errors: int = 0
    cold_starts: int = 0
    throttles: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    #: the highest concurrency seen in the window
    peak_concurrency: int = 0


@dataclass(frozen=True, slots=True)
class MetricSeries:
    """One function on one stage, bucketed over time: every tuple is as long as ``timestamps``.

    ``timestamps[i]`` is the start of bucket ``i`` (``step_s`` long). A bucket without
    invocations has 0 counts and None percentiles (drawn as a gap, not as zero).
    """

    stage: str
    function: str
    step_s: int
    timestamps: tuple[float, ...] = ()
    invocations: tuple[int, ...] = ()
    errors: tuple[int, ...] = ()
    p50_ms: tuple[float | None, ...] = ()
    p99_ms: tuple[float | None, ...] = ()
    cold_starts: tuple[int, ...] = ()
    #: the highest number of invocations running at once during the bucket
    concurrency: tuple[int, ...] = ()
    totals: MetricTotals = field(default_factory=MetricTotals)

    def __post_init__(self) -> None:
        n = len(self.timestamps)
        columns = (
            self.invocations,
            self.errors,
            self.p50_ms,
            self.p99_ms,
            self.cold_starts,
            self.concurrency,
        )
        if any(len(column) != n for column in columns):
            raise DashboardError(
                f"metric series of {self.stage}/{self.function}: columns differ in length"
            )


@dataclass(frozen=True, slots=True)
class CostSummary:
    """A stage's spend in the current calendar month (UTC) and where it is heading."""

    stage: str
    #: start of the month the figures cover
    period_start: float
    to_date: Decimal
    #: the month-end total if spending goes on at its recent rate
    forecast: Decimal
    currency: str = "USD"


@dataclass(frozen=True, slots=True)
class AlarmInfo:
    """One alarm and its current state (CloudWatch's StateValue and StateReason)."""

    name: str
    state: AlarmStateName
    reason: str
    #: when the state last changed
    updated: float
    #: the stage it watches, None for a platform-wide alarm
    stage: str | None = None
    #: what it watches, in a few words (e.g. ``Errors Sum > 5 for 1 x 60s``)
    description: str = ""


@dataclass(frozen=True, slots=True)
class DeploymentInfo:
    """One deployment of a stage, as the deploy history keeps it."""

    id: str
    stage: str
    kind: str
    status: str
    created: float
    finished: float | None = None
    versions: Mapping[str, int] = field(default_factory=dict)
    message: str = ""
    reason: str = ""
    #: whether the stage's alias points at it now
    current: bool = False
    #: the stack (app) of the stage it deploys
    stack: str = ""


@dataclass(frozen=True, slots=True)
class LogLine:
    """One function log event (the log store's ``LogEvent``)."""

    timestamp_ms: int
    stream: str
    message: str


class RollbackRefused(DashboardError):
    """The platform would not roll the stage back (nothing earlier to go back to, busy, ...)."""


class UnknownStage(DashboardError):
    """No stage has that name."""


class UnknownFunction(DashboardError):
    """The stage runs no function of that name."""


@runtime_checkable
class DashboardSource(Protocol):
    """Everything the dashboard reads, and the one thing it does (roll back).

    Unknown names raise :class:`UnknownStage` / :class:`UnknownFunction`; the app
    answers 404 for them.
    """

    async def stages(self) -> Sequence[StageInfo]:
        """Every stage, in the order to show them."""
        ...

    async def functions(self, stage: str) -> Sequence[str]:
        """Names of the functions the stage runs (its current deployment's)."""
        ...

    async def function_stacks(self, stage: str) -> Mapping[str, str]:
        """The stack (app) running each of the stage's functions."""
        ...

    async def metrics(
        self, stage: str, function: str, *, since: float, until: float, step_s: int
    ) -> MetricSeries:
        """The function's metrics on the stage, bucketed by ``step_s`` over [since, until)."""
        ...

    async def cost(self, stage: str, *, now: float) -> CostSummary:
        """The stage's spend this month up to ``now``, and its month-end forecast."""
        ...

    async def alarms(self) -> Sequence[AlarmInfo]:
        """Every alarm with its current state."""
        ...

    async def deployments(self, stage: str) -> Sequence[DeploymentInfo]:
        """The stage's deployment history, newest first."""
        ...

    async def rollback(self, stage: str, *, actor: str) -> DeploymentInfo:
        """Roll ``stage`` back (``overcast rollback``); ``actor`` is the signed-in key id.

        Returns the new ``rollback`` deployment; raises :class:`RollbackRefused` when
        the platform refuses.
        """
        ...

    def tail_logs(
        self, stage: str, function: str, *, since_ms: int | None = None
    ) -> AsyncIterator[LogLine]:
        """The function's log lines as they are written (from ``since_ms`` when given).

        Runs until the consumer stops iterating; the app closes it (``aclose``) when the
        browser goes away. ``LogStore.follow`` fits as it is.
        """
        ...
