"""Spend budgets from template ``AWS::Budgets::Budget`` resources, evaluated purely.

A budget has a limit in USD per period (a UTC day or a calendar month) and up to ten
notifications, each comparing either the spend so far (ACTUAL) or the forecast spend
for the period (FORECASTED) against a threshold that is a percentage of the limit or
an absolute amount. Each notification is OK or ALARM, as AWS's NotificationState.
The limit itself doubles as overcast's hard cap: :attr:`BudgetEvaluation.cap_reached`
says the period's spend has reached it (what to do then is the caller's business).

Property shapes, read 2026-11-27:
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-budgets-budget.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-budgets-budget-notificationwithsubscribers.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-budgets-budget-notification.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-budgets-budget-subscriber.html

What overcast does not take from AWS: only COST budgets in USD, DAILY or MONTHLY;
``CostFilters`` accepts only overcast's own ``FunctionName`` key (a budget for some
functions of the stage rather than the whole stage), because a filter overcast cannot
honour would make the budget silently measure something else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from overcast.observe.alarms import AlarmState, Transition
from overcast.observe.errors import ObserveError
from overcast.observe.forecast import month_bounds

__all__ = [
    "BudgetComparison",
    "BudgetEvaluation",
    "BudgetNotification",
    "BudgetSpec",
    "BudgetState",
    "InvalidBudgetError",
    "NotificationStatus",
    "NotificationType",
    "Subscriber",
    "SubscriptionType",
    "ThresholdType",
    "TimeUnit",
    "budget_from_properties",
    "budget_transitions",
    "budgets_from_model",
    "evaluate_budget",
    "linear_forecast",
    "period_bounds",
]

_MAX_NOTIFICATIONS = 10  # "A budget can have up to ten notifications."
_MAX_EMAILS = 10  # "one SNS subscriber and up to 10 email subscribers"
_HUNDRED = Decimal(100)


class InvalidBudgetError(ObserveError):
    """A budget definition overcast cannot honour, or one AWS would refuse."""


class TimeUnit(StrEnum):
    """How long a budget period lasts; periods start at 00:00 UTC."""

    DAILY = "DAILY"
    MONTHLY = "MONTHLY"


class NotificationType(StrEnum):
    """Whether a notification watches spend so far or the period's forecast."""

    ACTUAL = "ACTUAL"
    FORECASTED = "FORECASTED"


class BudgetComparison(StrEnum):
    """A notification's ComparisonOperator."""

    GREATER_THAN = "GREATER_THAN"
    LESS_THAN = "LESS_THAN"
    EQUAL_TO = "EQUAL_TO"

    def holds(self, value: Decimal, threshold: Decimal) -> bool:
        """Whether ``value`` compared with ``threshold`` puts the notification in ALARM."""
        if self is BudgetComparison.GREATER_THAN:
            return value > threshold
        if self is BudgetComparison.LESS_THAN:
            return value < threshold
        return value == threshold

    @property
    def symbol(self) -> str:
        """``>``, ``<`` or ``=``, for messages."""
        return {"GREATER_THAN": ">", "LESS_THAN": "<", "EQUAL_TO": "="}[self.value]


class ThresholdType(StrEnum):
    """Whether a threshold is a percentage of the limit or an amount in USD."""

    PERCENTAGE = "PERCENTAGE"
    ABSOLUTE_VALUE = "ABSOLUTE_VALUE"


class SubscriptionType(StrEnum):
    """Who hears about a notification: an email address or an SNS topic."""

    EMAIL = "EMAIL"
    SNS = "SNS"


class BudgetState(StrEnum):
    """AWS's NotificationState: a budget notification is OK or in ALARM."""

    OK = "OK"
    ALARM = "ALARM"


@dataclass(frozen=True, slots=True)
class Subscriber:
    """One recipient of a notification."""

    kind: SubscriptionType
    address: str


@dataclass(frozen=True, slots=True)
class BudgetNotification:
    """One threshold of a budget and who to tell when it is crossed."""

    kind: NotificationType
    comparison: BudgetComparison
    threshold: Decimal
    threshold_type: ThresholdType = ThresholdType.PERCENTAGE
    subscribers: tuple[Subscriber, ...] = ()

    @property
    def key(self) -> str:
        """A stable identity within its budget, e.g. ``ACTUAL>80%``, to key saved states."""
        unit = "%" if self.threshold_type is ThresholdType.PERCENTAGE else "USD"
        return f"{self.kind}{self.comparison.symbol}{self.threshold.normalize():f}{unit}"

    def threshold_usd(self, limit_usd: Decimal) -> Decimal:
        """The threshold as an amount of money, given the budget's limit."""
        if self.threshold_type is ThresholdType.ABSOLUTE_VALUE:
            return self.threshold
        return limit_usd * self.threshold / _HUNDRED

    @property
    def emails(self) -> tuple[str, ...]:
        """Addresses of the EMAIL subscribers."""
        return tuple(s.address for s in self.subscribers if s.kind is SubscriptionType.EMAIL)


@dataclass(frozen=True, slots=True)
class BudgetSpec:
    """A spend budget for a stage (or some of its functions), with its notifications."""

    logical_id: str
    name: str
    limit_usd: Decimal
    time_unit: TimeUnit
    notifications: tuple[BudgetNotification, ...] = ()
    #: FunctionName values the budget is limited to; empty means the whole stage
    functions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.limit_usd.is_finite() or self.limit_usd <= 0:
            raise InvalidBudgetError(f"budget {self.name}: the limit must be above 0 USD")

    def covers(self, function: str) -> bool:
        """Whether spend of ``function`` counts against this budget."""
        return not self.functions or function in self.functions


@dataclass(frozen=True, slots=True)
class NotificationStatus:
    """One notification's state, with the numbers that decided it."""

    notification: BudgetNotification
    state: BudgetState
    threshold_usd: Decimal
    value_usd: Decimal | None  # the actual or forecast spend compared; None = no forecast
    reason: str

    def transition_from(
        self, previous: BudgetState, budget_name: str, at: float
    ) -> Transition | None:
        """The alarm-style transition from ``previous``, or None when the state is unchanged.

        The transition's alarm name is ``"<budget name> <notification key>"``.
        """
        if previous is self.state:
            return None
        return Transition(
            alarm=f"{budget_name} {self.notification.key}",
            previous=AlarmState(previous.value),
            current=AlarmState(self.state.value),
            at=at,
            reason=self.reason,
        )


@dataclass(frozen=True, slots=True)
class BudgetEvaluation:
    """A budget evaluated on one period's spend."""

    budget: BudgetSpec
    actual_usd: Decimal
    forecast_usd: Decimal | None
    statuses: tuple[NotificationStatus, ...]

    @property
    def cap_reached(self) -> bool:
        """Whether spend so far has reached the budget's limit (the hard cap)."""
        return self.actual_usd >= self.budget.limit_usd

    def state_of(self, notification: BudgetNotification) -> BudgetState:
        """The state of one of the budget's notifications."""
        for status in self.statuses:
            if status.notification == notification:
                return status.state
        raise InvalidBudgetError(f"budget {self.budget.name} has no notification {notification}")


def _usd(amount: Decimal) -> str:
    """Whole cents as cents (``4.00``); anything finer in full (``0.0000002``)."""
    cents = amount.quantize(Decimal("0.01"))
    return f"{cents:f}" if cents == amount else f"{amount.normalize():f}"


def evaluate_budget(
    budget: BudgetSpec, actual_usd: Decimal, forecast_usd: Decimal | None = None
) -> BudgetEvaluation:
    """Each notification's state for a period with ``actual_usd`` spent so far.

    ``forecast_usd`` is the expected spend for the whole period; without one, FORECASTED
    notifications stay OK, as AWS sends none until it can forecast.
    """
    statuses = []
    for note in budget.notifications:
        threshold = note.threshold_usd(budget.limit_usd)
        value = actual_usd if note.kind is NotificationType.ACTUAL else forecast_usd
        what = "spend so far" if note.kind is NotificationType.ACTUAL else "forecast spend"
        if value is None:
            state, reason = BudgetState.OK, "no forecast yet"
        else:
            alarm = note.comparison.holds(value, threshold)
            state = BudgetState.ALARM if alarm else BudgetState.OK
            verdict = "is" if alarm else "is not"
            reason = (
                f"{what} {_usd(value)} USD {verdict} {note.comparison.symbol} "
                f"{_usd(threshold)} USD ({note.key} of {_usd(budget.limit_usd)} USD "
                f"{budget.time_unit.lower()})"
            )
        statuses.append(NotificationStatus(note, state, threshold, value, reason))
    return BudgetEvaluation(budget, actual_usd, forecast_usd, tuple(statuses))


def budget_transitions(
    evaluation: BudgetEvaluation, previous: Mapping[str, BudgetState], at: float
) -> tuple[Transition, ...]:
    """Alarm-style transitions for notifications whose state changed since ``previous``.

    ``previous`` maps :attr:`BudgetNotification.key` to its last state; a notification
    not in it counts as OK (a new budget period starts with nothing spent).
    """
    changes = (
        status.transition_from(
            previous.get(status.notification.key, BudgetState.OK), evaluation.budget.name, at
        )
        for status in evaluation.statuses
    )
    return tuple(t for t in changes if t is not None)


def period_bounds(time_unit: TimeUnit, now: float) -> tuple[float, float]:
    """Start and end (epoch seconds, UTC) of the budget period containing ``now``."""
    if time_unit is not TimeUnit.DAILY:
        return month_bounds(now)
    moment = datetime.fromtimestamp(now, UTC)
    start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return start.timestamp(), (start + timedelta(days=1)).timestamp()


def linear_forecast(
    actual_usd: Decimal, time_unit: TimeUnit, now: float, *, min_elapsed: float = 0.05
) -> Decimal | None:
    """Spend for the whole period if it goes on at the rate seen so far.

    None until ``min_elapsed`` (a fraction of the period) has passed: a forecast from a
    few seconds of data would put every FORECASTED notification in ALARM at midnight.
    """
    start, end = period_bounds(time_unit, now)
    elapsed = (now - start) / (end - start)
    if elapsed < min_elapsed or elapsed <= 0:
        return None
    return actual_usd * Decimal(end - start) / Decimal(now - start)


# -- template properties -------------------------------------------------------------


def _fail(name: str, message: str, hint: str = "") -> InvalidBudgetError:
    return InvalidBudgetError(f"budget {name}: {message}", hint=hint)


def _mapping(name: str, raw: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise _fail(name, f"{what} must be a mapping")
    return raw


def _decimal(name: str, raw: Any, what: str) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise _fail(name, f"{what} must be a number, not {raw!r}")
    try:
        value = Decimal(str(raw))
    except InvalidOperation as exc:
        raise _fail(name, f"{what} must be a number, not {raw!r}") from exc
    if not value.is_finite() or value < 0:
        raise _fail(name, f"{what} must be a finite, non-negative number, not {raw!r}")
    return value


def _enum(name: str, raw: Any, what: str, enum: type[Any], hint: str = "") -> Any:
    try:
        return enum(raw)
    except ValueError as exc:
        allowed = ", ".join(str(v) for v in enum)
        raise _fail(name, f"{what} {raw!r} is not supported", hint or f"use {allowed}") from exc


def _subscriber(name: str, raw: Any) -> Subscriber:
    item = _mapping(name, raw, "each subscriber")
    kind = _enum(name, item.get("SubscriptionType"), "SubscriptionType", SubscriptionType)
    address = item.get("Address")
    if not isinstance(address, str) or not address or "\n" in address:
        raise _fail(name, "a subscriber needs an Address on one line")
    if kind is SubscriptionType.EMAIL and "@" not in address:
        raise _fail(name, f"{address!r} is not an email address")
    return Subscriber(kind, address)


def _notification(name: str, raw: Any) -> BudgetNotification:
    item = _mapping(name, raw, "each of NotificationsWithSubscribers")
    body = _mapping(name, item.get("Notification"), "Notification")
    subscribers = item.get("Subscribers")
    if not isinstance(subscribers, list) or not subscribers:
        raise _fail(name, "each notification needs at least one of Subscribers")
    subs = tuple(_subscriber(name, s) for s in subscribers)
    if sum(s.kind is SubscriptionType.SNS for s in subs) > 1:
        raise _fail(name, "a notification can have one SNS subscriber at most")
    if sum(s.kind is SubscriptionType.EMAIL for s in subs) > _MAX_EMAILS:
        raise _fail(name, f"a notification can have {_MAX_EMAILS} email subscribers at most")
    for key in ("NotificationType", "ComparisonOperator", "Threshold"):
        if key not in body:
            raise _fail(name, f"Notification {key} is required")
    return BudgetNotification(
        kind=_enum(name, body["NotificationType"], "NotificationType", NotificationType),
        comparison=_enum(name, body["ComparisonOperator"], "ComparisonOperator", BudgetComparison),
        threshold=_decimal(name, body["Threshold"], "Threshold"),
        threshold_type=_enum(
            name, body.get("ThresholdType", "PERCENTAGE"), "ThresholdType", ThresholdType
        ),
        subscribers=subs,
    )


def _functions(name: str, data: Mapping[str, Any]) -> tuple[str, ...]:
    filters = data.get("CostFilters")
    if filters is None:
        return ()
    filters = _mapping(name, filters, "CostFilters")
    unknown = sorted(set(filters) - {"FunctionName"})
    values = filters.get("FunctionName")
    if unknown or not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise _fail(
            name,
            f"CostFilters {', '.join(unknown) or 'FunctionName'} cannot be honoured",
            hint="overcast filters by FunctionName only: CostFilters: {FunctionName: [!Ref Fn]}",
        )
    return tuple(values)


def budget_from_properties(logical_id: str, properties: Mapping[str, Any]) -> BudgetSpec:
    """Build the budget ``logical_id`` from its resolved template Properties.

    Raises :class:`InvalidBudgetError` naming the budget and the property at fault.
    """
    data = _mapping(logical_id, properties.get("Budget"), "Budget")
    name = str(data.get("BudgetName") or logical_id)
    budget_type = data.get("BudgetType")
    if budget_type != "COST":
        raise _fail(
            name,
            f"BudgetType {budget_type!r} is not supported",
            hint="overcast meters money only: BudgetType: COST",
        )
    for key in ("PlannedBudgetLimits", "AutoAdjustData", "FilterExpression"):
        if key in data:
            raise _fail(name, f"{key} is not supported", hint="give a fixed BudgetLimit")
    time_unit = _enum(name, data.get("TimeUnit"), "TimeUnit", TimeUnit, hint="use DAILY or MONTHLY")
    limit = _mapping(name, data.get("BudgetLimit"), "BudgetLimit")
    if limit.get("Unit") != "USD":
        raise _fail(name, f"BudgetLimit Unit {limit.get('Unit')!r} is not USD")
    amount = _decimal(name, limit.get("Amount"), "BudgetLimit Amount")
    if amount <= 0:
        raise _fail(name, "BudgetLimit Amount must be above 0")
    raw_notes = properties.get("NotificationsWithSubscribers", [])
    if not isinstance(raw_notes, list):
        raise _fail(name, "NotificationsWithSubscribers must be a list")
    if len(raw_notes) > _MAX_NOTIFICATIONS:
        raise _fail(name, f"a budget can have {_MAX_NOTIFICATIONS} notifications at most")
    notes = tuple(_notification(name, n) for n in raw_notes)
    keys = [n.key for n in notes]
    if len(set(keys)) != len(keys):
        raise _fail(name, "two notifications have the same type, comparison and threshold")
    return BudgetSpec(
        logical_id=logical_id,
        name=name,
        limit_usd=amount,
        time_unit=time_unit,
        notifications=notes,
        functions=_functions(name, data),
    )


def budgets_from_model(
    budgets: Mapping[str, Mapping[str, Any]], function_names: Sequence[str] = ()
) -> dict[str, BudgetSpec]:
    """Every budget of a template (``AppModel.budgets``), by logical ID.

    When ``function_names`` is given, a budget filtered to a function not among them is
    refused: it would never see any spend.
    """
    out: dict[str, BudgetSpec] = {}
    for logical_id, props in budgets.items():
        budget = budget_from_properties(logical_id, props)
        missing = [f for f in budget.functions if function_names and f not in function_names]
        if missing:
            raise _fail(
                budget.name,
                f"CostFilters FunctionName {', '.join(missing)} is not a function of this template",
                hint="use !Ref to the function's logical ID",
            )
        out[logical_id] = budget
    return out
