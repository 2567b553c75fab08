"""Telling people an alarm changed state: a signed JSON webhook and email over SMTP.

This is the one module of ``observe`` that does I/O. A :class:`Notifier` takes
:class:`AlarmNotice` values (an alarm's :class:`~overcast.observe.alarms.Transition`
with what a reader needs to know about the alarm) from a bounded queue and delivers
each to every configured target. ``Notifier.notify`` never blocks and never raises:
when deliveries fall behind, the oldest waiting notice is dropped (and counted), so a
slow webhook cannot grow memory without bound.

Webhook
    ``POST`` of a JSON body shaped like the message CloudWatch publishes to SNS on a
    state change (AlarmName, NewStateValue, OldStateValue, NewStateReason,
    StateChangeTime, Trigger{MetricName, Namespace, Statistic, Dimensions, Period,
    EvaluationPeriods, ComparisonOperator, Threshold, ...}); see AWS's own sample in
    aws/aws-lambda-go ``events/testdata/cloudwatch-alarm-sns-payload-single-metric.json``.
    Signed: ``X-Overcast-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." +
    body)>`` with the Unix time in ``X-Overcast-Timestamp``, so a receiver can refuse
    replays of old deliveries (:func:`verify_signature`). ``X-Overcast-Delivery`` is the
    same on every retry of one delivery, for receivers that de-duplicate. Connection
    errors, timeouts, 429 and 5xx are retried with capped exponential backoff and full
    jitter (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/),
    at most ``Backoff.max_attempts`` tries; other statuses are final.

Email
    A plain-text message over SMTP (standard library ``smtplib`` in a worker thread),
    optionally upgraded with STARTTLS and authenticated; 4xx replies and dropped
    connections are retried like the webhook, 5xx replies are final.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import random
import smtplib
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from types import TracebackType
from typing import Any, Self

import httpx

from overcast.observe.alarm_specs import TemplateAlarm
from overcast.observe.alarms import Transition
from overcast.observe.budgets import BudgetEvaluation, BudgetState

__all__ = [
    "DELIVERY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "AlarmNotice",
    "Backoff",
    "DeliveryResult",
    "Notifier",
    "SmtpTarget",
    "WebhookTarget",
    "alarm_message",
    "budget_notices",
    "deliver_email",
    "deliver_webhook",
    "email_message",
    "notice_for_alarm",
    "sign",
    "verify_signature",
]

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Overcast-Signature"
TIMESTAMP_HEADER = "X-Overcast-Timestamp"
DELIVERY_HEADER = "X-Overcast-Delivery"
_USER_AGENT = "overcast-alarms/1"

Sleep = Callable[[float], Awaitable[None]]
Random = Callable[[], float]
Clock = Callable[[], float]


# -- what is sent ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlarmNotice:
    """One state change to announce, with the context a reader needs.

    ``trigger`` (metric alarms) or ``budget`` (budget notifications) are JSON-ready
    mappings that go into the message as-is; ``emails`` are recipients added to every
    SMTP target's own (a budget's EMAIL subscribers).
    """

    transition: Transition
    description: str = ""
    stage: str | None = None
    region: str = ""
    account_id: str = ""
    trigger: Mapping[str, Any] | None = None
    budget: Mapping[str, Any] | None = None
    emails: tuple[str, ...] = ()


def notice_for_alarm(
    alarm: TemplateAlarm,
    transition: Transition,
    *,
    stage: str | None = None,
    region: str = "",
    account_id: str = "",
) -> AlarmNotice:
    """The notice for a metric alarm's transition, with CloudWatch's Trigger block."""
    spec = alarm.spec
    extended = alarm.percentile is not None
    trigger = {
        "MetricName": alarm.metric.name,
        "Namespace": alarm.metric.namespace,
        "StatisticType": "ExtendedStatistic" if extended else "Statistic",
        # CloudWatch writes the plain statistic upper-case in this message (SUM, AVERAGE).
        "Statistic": alarm.statistic_label if extended else str(spec.statistic).upper(),
        "Unit": alarm.unit,
        "Dimensions": [{"value": v, "name": k} for k, v in alarm.metric.dimensions],
        "Period": spec.period_seconds,
        "EvaluationPeriods": spec.evaluation_periods,
        "DatapointsToAlarm": spec.m,
        "ComparisonOperator": str(spec.comparison),
        "Threshold": spec.threshold,
        "TreatMissingData": str(spec.treat_missing_data),
        "EvaluateLowSampleCountPercentile": "",
    }
    return AlarmNotice(
        transition=transition,
        description=alarm.description,
        stage=stage,
        region=region,
        account_id=account_id,
        trigger=trigger,
    )


def budget_notices(
    evaluation: BudgetEvaluation,
    previous: Mapping[str, BudgetState],
    at: float,
    *,
    stage: str | None = None,
) -> tuple[AlarmNotice, ...]:
    """Notices for the budget notifications whose state changed since ``previous``.

    ``previous`` maps a notification's key to its last state (missing = OK).
    """
    budget = evaluation.budget
    out = []
    for status in evaluation.statuses:
        note = status.notification
        transition = status.transition_from(previous.get(note.key, BudgetState.OK), budget.name, at)
        if transition is None:
            continue
        details = {
            "BudgetName": budget.name,
            "BudgetLimit": {"Amount": str(budget.limit_usd), "Unit": "USD"},
            "TimeUnit": str(budget.time_unit),
            "NotificationType": str(note.kind),
            "ComparisonOperator": str(note.comparison),
            "Threshold": str(note.threshold),
            "ThresholdType": str(note.threshold_type),
            "ThresholdAmount": str(status.threshold_usd),
            "ActualSpend": {"Amount": str(evaluation.actual_usd), "Unit": "USD"},
            "ForecastedSpend": (
                None
                if evaluation.forecast_usd is None
                else {"Amount": str(evaluation.forecast_usd), "Unit": "USD"}
            ),
        }
        out.append(
            AlarmNotice(
                transition=transition,
                description=f"Budget {budget.name}: {note.key}",
                stage=stage,
                budget=details,
                emails=note.emails,
            )
        )
    return tuple(out)


def _state_change_time(at: float) -> str:
    """CloudWatch's StateChangeTime format: ``2015-06-03T17:43:27.123+0000``."""
    moment = datetime.fromtimestamp(at, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def alarm_message(notice: AlarmNotice) -> dict[str, Any]:
    """The JSON object a webhook receives (CloudWatch's SNS alarm message, plus Stage)."""
    t = notice.transition
    message: dict[str, Any] = {
        "AlarmName": t.alarm,
        "AlarmDescription": notice.description or None,
        "AWSAccountId": notice.account_id,
        "NewStateValue": str(t.current),
        "NewStateReason": t.reason,
        "StateChangeTime": _state_change_time(t.at),
        "Region": notice.region,
        "OldStateValue": str(t.previous),
        "Stage": notice.stage,
    }
    if notice.trigger is not None:
        message["Trigger"] = dict(notice.trigger)
    if notice.budget is not None:
        message["Budget"] = dict(notice.budget)
    return message


# -- signing ---------------------------------------------------------------------------


def sign(secret: str | bytes, timestamp: str, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``: ``sha256=<hex>``."""
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify_signature(
    secret: str | bytes,
    body: bytes,
    timestamp: str,
    signature: str,
    *,
    now: float,
    tolerance_s: float = 300.0,
) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


# -- delivery --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Backoff:
    """How often and how patiently to retry: exponential, capped, with full jitter."""

    max_attempts: int = 5
    initial_s: float = 0.5
    factor: float = 2.0
    max_s: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.initial_s < 0 or self.factor < 1 or self.max_s < 0:
            raise ValueError(f"impossible backoff {self}")

    def delay(self, attempt: int, rand: float) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based); ``rand`` in [0, 1)."""
        ceiling = min(self.max_s, self.initial_s * self.factor ** (attempt - 1))
        return rand * ceiling


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """An HTTPS (or HTTP) endpoint that receives signed JSON notices."""

    url: str
    secret: str = field(repr=False)
    timeout_s: float = 10.0
    backoff: Backoff = field(default_factory=Backoff)
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            url = httpx.URL(self.url)
        except httpx.InvalidURL as exc:
            raise ValueError(f"webhook URL {self.url!r} is invalid: {exc}") from exc
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"webhook URL {self.url!r} must be http(s)://host/...")
        if not self.secret:
            raise ValueError("a webhook needs a secret to sign its deliveries")

    def __str__(self) -> str:
        return f"webhook {httpx.URL(self.url).copy_with(query=None, fragment=None)}"


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    """An SMTP server and the envelope of the messages sent through it."""

    host: str
    sender: str
    to: tuple[str, ...] = ()
    port: int = 25
    starttls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_s: float = 30.0
    backoff: Backoff = field(default_factory=lambda: Backoff(max_attempts=3))
    #: verifies the server on STARTTLS; None = the system's default trust store
    tls_context: ssl.SSLContext | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return f"smtp {self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """How one delivery of one notice to one target ended."""

    target: str
    alarm: str
    ok: bool
    attempts: int
    status: int | None = None
    error: str = ""


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after", "")
    return float(raw) if raw.isdigit() else None


async def deliver_webhook(
    target: WebhookTarget,
    notice: AlarmNotice,
    *,
    client: httpx.AsyncClient,
    clock: Clock = time.time,
    sleep: Sleep = asyncio.sleep,
    rand: Random = random.random,
) -> DeliveryResult:
    """POST ``notice`` to ``target``, retrying transient failures; never raises."""
    body = json.dumps(alarm_message(notice), separators=(",", ":")).encode()
    delivery = str(uuid.uuid4())
    alarm = notice.transition.alarm
    status: int | None = None
    error = ""
    attempt = 0
    for attempt in range(1, target.backoff.max_attempts + 1):
        timestamp = str(int(clock()))  # signed afresh so a late retry is not stale
        headers = {
            **target.headers,
            "Content-Type": "application/json",
            "User-Agent": _USER_AGENT,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(target.secret, timestamp, body),
            DELIVERY_HEADER: delivery,
        }
        wait_at_least = 0.0
        try:
            response = await client.post(
                target.url, content=body, headers=headers, timeout=target.timeout_s
            )
        except httpx.TransportError as exc:
            status, error = None, f"{type(exc).__name__}: {exc}"
        else:
            status = response.status_code
            if response.is_success:
                return DeliveryResult(str(target), alarm, True, attempt, status)
            error = f"HTTP {status}"
            if status != 429 and status < 500:
                break  # the receiver refused this notice; sending it again changes nothing
            wait_at_least = min(_retry_after(response) or 0.0, target.backoff.max_s)
        if attempt < target.backoff.max_attempts:
            delay = max(wait_at_least, target.backoff.delay(attempt, rand()))
            log.info("%s: %s for %s, retry %d in %.2fs", target, error, alarm, attempt, delay)
            await sleep(delay)
    log.warning("%s: gave up on %s after %d attempt(s): %s", target, alarm, attempt, error)
    return DeliveryResult(str(target), alarm, False, attempt, status, error)


def _subject(notice: AlarmNotice) -> str:
    t = notice.transition
    where = f" in {notice.stage}" if notice.stage else ""
    return f'{t.current}: "{t.alarm}"{where}'


def _body(notice: AlarmNotice) -> str:
    t = notice.transition
    lines = [
        f'Your alarm "{t.alarm}" changed state from {t.previous} to {t.current}.',
        "",
        f"Reason for state change: {t.reason}",
        f"Date/time of change: {_state_change_time(t.at)}",
    ]
    if notice.stage:
        lines.append(f"Stage: {notice.stage}")
    if notice.description:
        lines.append(f"Description: {notice.description}")
    if notice.trigger is not None:
        trig = notice.trigger
        dims = ", ".join(f"{d['name']} = {d['value']}" for d in trig.get("Dimensions", []))
        lines += [
            "",
            "Monitored metric:",
            f"- Namespace: {trig.get('Namespace')}",
            f"- MetricName: {trig.get('MetricName')}",
            f"- Dimensions: [{dims}]",
            f"- Statistic: {trig.get('Statistic')}, Period: {trig.get('Period')} seconds",
            f"- Threshold: {trig.get('ComparisonOperator')} {trig.get('Threshold')} for "
            f"{trig.get('DatapointsToAlarm')} of {trig.get('EvaluationPeriods')} periods",
        ]
    if notice.budget is not None:
        lines += ["", "Budget:"] + [f"- {k}: {v}" for k, v in notice.budget.items()]
    lines += ["", "-- ", "overcast"]
    return "\n".join(lines) + "\n"


def email_message(target: SmtpTarget, notice: AlarmNotice) -> EmailMessage:
    """The email announcing ``notice`` through ``target``."""
    message = EmailMessage()
    message["Subject"] = _subject(notice)
    message["From"] = target.sender
    message["To"] = ", ".join(dict.fromkeys((*target.to, *notice.emails)))
    message["Date"] = formatdate(notice.transition.at, usegmt=True)
    # An explicit domain: make_msgid would otherwise look up this host's FQDN (slow, DNS).
    message["Message-ID"] = make_msgid(domain=target.sender.rpartition("@")[2] or "overcast")
    message["X-Overcast-Alarm"] = notice.transition.alarm
    message["X-Overcast-State"] = str(notice.transition.current)
    message.set_content(_body(notice))
    return message


def _send_blocking(target: SmtpTarget, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
    with smtplib.SMTP(target.host, target.port, timeout=target.timeout_s) as smtp:
        smtp.ehlo()
        if target.starttls:
            smtp.starttls(context=target.tls_context or ssl.create_default_context())
            smtp.ehlo()
        if target.username is not None:
            smtp.login(target.username, target.password or "")
        return smtp.send_message(message)


def _smtp_retryable(exc: OSError) -> bool:
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    # Not supported (no STARTTLS), bad certificate, no recipients: retrying cannot help.
    return not isinstance(exc, smtplib.SMTPNotSupportedError | ssl.SSLError | ValueError)


async def deliver_email(
    target: SmtpTarget,
    notice: AlarmNotice,
    *,
    sleep: Sleep = asyncio.sleep,
    rand: Random = random.random,
) -> DeliveryResult:
    """Send ``notice`` by email through ``target``, retrying transient failures; never raises."""
    alarm = notice.transition.alarm
    try:
        message = email_message(target, notice)
    except ValueError as exc:  # e.g. a line break smuggled into a header value
        log.warning("%s: cannot write the email for %s: %s", target, alarm, exc)
        return DeliveryResult(str(target), alarm, False, 0, error=f"ValueError: {exc}")
    if not message["To"]:
        return DeliveryResult(str(target), alarm, False, 0, error="no recipients")
    error = ""
    attempt = 0
    for attempt in range(1, target.backoff.max_attempts + 1):
        try:
            refused = await asyncio.to_thread(_send_blocking, target, message)
        except OSError as exc:  # smtplib's errors, socket errors and ssl errors are OSErrors
            error = f"{type(exc).__name__}: {exc}"
            if not _smtp_retryable(exc):
                break
        else:
            if refused:
                log.warning("%s: recipients refused for %s: %s", target, alarm, sorted(refused))
            return DeliveryResult(str(target), alarm, True, attempt)
        if attempt < target.backoff.max_attempts:
            delay = target.backoff.delay(attempt, rand())
            log.info("%s: %s for %s, retry %d in %.2fs", target, error, alarm, attempt, delay)
            await sleep(delay)
    log.warning("%s: gave up on %s after %d attempt(s): %s", target, alarm, attempt, error)
    return DeliveryResult(str(target), alarm, False, attempt, error=error)


# -- the notifier ----------------------------------------------------------------------


class Notifier:
    """Delivers notices to every target from a bounded queue, in the background.

    Use as ``async with Notifier(...) as notifier:``; the worker task belongs to the
    notifier and is drained (for up to ``drain_s``) then cancelled on exit. Or run
    :meth:`run` in a task group of your own. Call :meth:`notify` from the event loop's
    thread.
    """

    def __init__(
        self,
        webhooks: Sequence[WebhookTarget] = (),
        emails: Sequence[SmtpTarget] = (),
        *,
        queue_size: int = 100,
        drain_s: float = 10.0,
        client: httpx.AsyncClient | None = None,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        rand: Random = random.random,
        on_result: Callable[[DeliveryResult], None] | None = None,
    ) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self.webhooks = tuple(webhooks)
        self.emails = tuple(emails)
        self._queue: asyncio.Queue[AlarmNotice] = asyncio.Queue(maxsize=queue_size)
        self._drain_s = drain_s
        self._client = client
        self._clock = clock
        self._sleep = sleep
        self._rand = rand
        self._on_result = on_result
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0

    def notify(self, notice: AlarmNotice) -> None:
        """Queue ``notice`` for delivery; drops the oldest queued notice when full."""
        if not (self.webhooks or self.emails):
            return
        if self._queue.full():
            try:
                lost = self._queue.get_nowait()
            except asyncio.QueueEmpty:  # the worker took one meanwhile; room again
                pass
            else:
                self._queue.task_done()
                self.dropped += 1
                log.warning(
                    "notification queue full: dropped %s -> %s of %s",
                    lost.transition.previous,
                    lost.transition.current,
                    lost.transition.alarm,
                )
        self._queue.put_nowait(notice)

    @property
    def pending(self) -> int:
        """Notices queued and not yet taken by the worker."""
        return self._queue.qsize()

    async def run(self) -> None:
        """Deliver queued notices until cancelled."""
        if self._client is not None:
            await self._loop(self._client)
            return
        async with httpx.AsyncClient() as client:
            await self._loop(client)

    async def _loop(self, client: httpx.AsyncClient) -> None:
        while True:
            notice = await self._queue.get()
            try:
                await self._deliver(client, notice)
            finally:
                self._queue.task_done()

    async def drain(self) -> None:
        """Wait until every queued notice has been delivered (or given up on)."""
        await self._queue.join()

    async def _deliver(self, client: httpx.AsyncClient, notice: AlarmNotice) -> None:
        jobs = [
            deliver_webhook(
                t, notice, client=client, clock=self._clock, sleep=self._sleep, rand=self._rand
            )
            for t in self.webhooks
        ] + [deliver_email(t, notice, sleep=self._sleep, rand=self._rand) for t in self.emails]
        outcomes = await asyncio.gather(*jobs, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                if isinstance(outcome, asyncio.CancelledError):
                    raise outcome
                # deliver_* handle every failure they expect; a bug must not kill the worker.
                log.error(
                    "notification of %s failed unexpectedly",
                    notice.transition.alarm,
                    exc_info=outcome,
                )
            elif self._on_result is not None:
                self._on_result(outcome)

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self.run(), name="overcast-notifier")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            async with asyncio.timeout(self._drain_s):
                await self.drain()
        except TimeoutError:
            log.warning("notifier stopped with %d notice(s) undelivered", self.pending)
        finally:
            if self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
                self._task = None
