"""Alarm notifications: webhook signature, retries against a real HTTP server, and email
delivered to a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from overcast.observe.alarm_specs import alarm_from_properties
from overcast.observe.alarms import AlarmState, Transition
from overcast.observe.budgets import (
    BudgetComparison,
    BudgetNotification,
    BudgetSpec,
    BudgetState,
    NotificationType,
    Subscriber,
    SubscriptionType,
    TimeUnit,
    evaluate_budget,
)
from overcast.observe.notify import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    AlarmNotice,
    Backoff,
    DeliveryResult,
    Notifier,
    SmtpTarget,
    WebhookTarget,
    alarm_message,
    budget_notices,
    deliver_email,
    deliver_webhook,
    notice_for_alarm,
    sign,
    verify_signature,
)
from process_helpers import free_port

SECRET = "s3cret-shared-with-the-receiver"
NOW = 1_780_000_000.0  # a fixed clock: 2026-05-28T20:26:40Z


def errors_alarm() -> Any:
    return alarm_from_properties(
        "OrdersErrors",
        {
            "AlarmName": "orders-errors",
            "AlarmDescription": "orders fails",
            "Namespace": "AWS/Lambda",
            "MetricName": "Errors",
            "Dimensions": [{"Name": "FunctionName", "Value": "orders"}],
            "Statistic": "Sum",
            "Period": 60,
            "EvaluationPeriods": 3,
            "DatapointsToAlarm": 2,
            "Threshold": 5,
            "ComparisonOperator": "GreaterThanThreshold",
        },
    )


def notice(alarm: str = "orders-errors", at: float = NOW + 0.123) -> AlarmNotice:
    transition = Transition(alarm, AlarmState.OK, AlarmState.ALARM, at, "2 of 2 breaching")
    return notice_for_alarm(
        errors_alarm(), transition, stage="prod", region="us-east-1", account_id="123456789012"
    )


class Sleeps:
    """An injected sleep: records the delays asked for and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


# -- message and signature -------------------------------------------------------------


def test_message_is_shaped_like_cloudwatchs_sns_alarm_message() -> None:
    message = alarm_message(notice())

    assert message["AlarmName"] == "orders-errors"
    assert message["AlarmDescription"] == "orders fails"
    assert message["NewStateValue"] == "ALARM"
    assert message["OldStateValue"] == "OK"
    assert message["NewStateReason"] == "2 of 2 breaching"
    assert message["StateChangeTime"] == "2026-05-28T20:26:40.123+0000"
    assert message["AWSAccountId"] == "123456789012"
    assert message["Stage"] == "prod"
    assert message["Trigger"] == {
        "MetricName": "Errors",
        "Namespace": "AWS/Lambda",
        "StatisticType": "Statistic",
        "Statistic": "SUM",
        "Unit": None,
        "Dimensions": [{"value": "orders", "name": "FunctionName"}],
        "Period": 60,
        "EvaluationPeriods": 3,
        "DatapointsToAlarm": 2,
        "ComparisonOperator": "GreaterThanThreshold",
        "Threshold": 5.0,
        "TreatMissingData": "missing",
        "EvaluateLowSampleCountPercentile": "",
    }


def test_signature_matches_an_independent_hmac_over_timestamp_and_body() -> None:
    body = b'{"AlarmName":"x"}'

    expected = hmac.new(SECRET.encode(), b"1780000000." + body, hashlib.sha256).hexdigest()

    assert sign(SECRET, "1780000000", body) == f"sha256={expected}"


def test_receiver_accepts_a_fresh_genuine_delivery() -> None:
    body = b'{"AlarmName":"x"}'
    signature = sign(SECRET, "1780000000", body)

    assert verify_signature(SECRET, body, "1780000000", signature, now=1_780_000_100)


@pytest.mark.parametrize(
    ("secret", "body", "timestamp", "now"),
    [
        ("other-secret", b'{"AlarmName":"x"}', "1780000000", 1_780_000_000),  # wrong key
        (SECRET, b'{"AlarmName":"y"}', "1780000000", 1_780_000_000),  # tampered body
        (SECRET, b'{"AlarmName":"x"}', "1780000001", 1_780_000_000),  # tampered time
        (SECRET, b'{"AlarmName":"x"}', "1780000000", 1_780_000_301),  # replayed late
        (SECRET, b'{"AlarmName":"x"}', "soon", 1_780_000_000),  # not a time
    ],
)
def test_receiver_refuses_forged_tampered_or_replayed_deliveries(
    secret: str, body: bytes, timestamp: str, now: float
) -> None:
    genuine = sign(SECRET, "1780000000", b'{"AlarmName":"x"}')

    assert not verify_signature(secret, body, timestamp, genuine, now=now)


def test_backoff_grows_exponentially_up_to_its_cap_with_full_jitter() -> None:
    backoff = Backoff(max_attempts=10, initial_s=0.5, factor=2, max_s=3)

    assert [backoff.delay(n, 1.0) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff.delay(4, 0.5) == 1.5
    assert backoff.delay(4, 0.0) == 0.0


# -- webhook against a real HTTP server ------------------------------------------------


class Receiver:
    """An ASGI app that answers ``status`` to the first ``failures`` requests, then 200."""

    def __init__(
        self, failures: int = 0, status: int = 503, headers: tuple[tuple[bytes, bytes], ...] = ()
    ) -> None:
        self.failures = failures
        self.status = status
        self.headers = list(headers)
        self.requests: list[tuple[dict[str, str], bytes]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body, more = b"", True
        while more:
            event = await receive()
            body += event.get("body", b"")
            more = event.get("more_body", False)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append((headers, body))
        failing = len(self.requests) <= self.failures
        status = self.status if failing else 200
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": self.headers if failing else [],
            }
        )
        await send({"type": "http.response.body", "body": b"ok"})


@contextlib.asynccontextmanager
async def serving(app: Receiver) -> AsyncIterator[str]:
    """Run ``app`` under uvicorn on a free local port for the block; yield its URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="off", log_level="warning", ws="none", access_log=False)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}/hooks/alarms"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def send_one(
    receiver: Receiver, backoff: Backoff, sleeps: Sleeps, rand: float = 0.5
) -> DeliveryResult:
    async with serving(receiver) as url, httpx.AsyncClient() as client:
        target = WebhookTarget(url, SECRET, backoff=backoff)
        return await deliver_webhook(
            target, notice(), client=client, clock=lambda: NOW, sleep=sleeps, rand=lambda: rand
        )


def test_webhook_retries_5xx_with_backoff_then_delivers() -> None:
    receiver, sleeps = Receiver(failures=3, status=503), Sleeps()
    backoff = Backoff(max_attempts=5, initial_s=1, factor=2, max_s=60)

    result = asyncio.run(send_one(receiver, backoff, sleeps, rand=0.5))

    assert result.ok
    assert (result.attempts, result.status) == (4, 200)
    assert len(receiver.requests) == 4
    assert sleeps.delays == [0.5, 1.0, 2.0]  # 0.5 x (1, 2, 4): full jitter at rand=0.5


def test_every_attempt_is_signed_and_carries_the_same_delivery_id() -> None:
    receiver = Receiver(failures=1, status=500)

    asyncio.run(send_one(receiver, Backoff(max_attempts=3), Sleeps()))

    deliveries = set()
    for headers, body in receiver.requests:
        timestamp = headers[TIMESTAMP_HEADER.lower()]
        expected = hmac.new(
            SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        assert headers[SIGNATURE_HEADER.lower()] == f"sha256={expected}"
        assert timestamp == str(int(NOW))
        assert headers["content-type"] == "application/json"
        assert json.loads(body) == alarm_message(notice())
        deliveries.add(headers[DELIVERY_HEADER.lower()])
    assert len(deliveries) == 1


def test_webhook_gives_up_after_max_attempts_without_raising() -> None:
    receiver, sleeps = Receiver(failures=10, status=502), Sleeps()

    result = asyncio.run(send_one(receiver, Backoff(max_attempts=3), sleeps))

    assert not result.ok
    assert (result.attempts, result.status, result.error) == (3, 502, "HTTP 502")
    assert len(receiver.requests) == 3
    assert len(sleeps.delays) == 2  # no pointless wait after the last attempt


def test_webhook_does_not_retry_a_refusal() -> None:
    receiver, sleeps = Receiver(failures=10, status=400), Sleeps()

    result = asyncio.run(send_one(receiver, Backoff(max_attempts=5), sleeps))

    assert not result.ok
    assert (result.attempts, result.status) == (1, 400)
    assert sleeps.delays == []


def test_webhook_honours_retry_after_on_429() -> None:
    receiver = Receiver(failures=1, status=429, headers=((b"retry-after", b"7"),))
    sleeps = Sleeps()

    result = asyncio.run(send_one(receiver, Backoff(max_attempts=2, max_s=30), sleeps))

    assert result.ok
    assert sleeps.delays == [7.0]


def test_webhook_retries_connection_errors_and_reports_them() -> None:
    port = free_port()  # nothing listens there
    sleeps = Sleeps()

    async def scenario() -> DeliveryResult:
        async with httpx.AsyncClient() as client:
            target = WebhookTarget(f"http://127.0.0.1:{port}/", SECRET, backoff=Backoff(3))
            return await deliver_webhook(target, notice(), client=client, sleep=sleeps)

    result = asyncio.run(scenario())

    assert not result.ok
    assert result.attempts == 3
    assert result.status is None
    assert "ConnectError" in result.error
    assert len(sleeps.delays) == 2


def test_webhook_target_repr_and_str_hide_the_secret() -> None:
    target = WebhookTarget("https://hooks.example.com/a?token=abc", SECRET)

    assert SECRET not in repr(target)
    assert "token" not in str(target)


# -- the notifier ----------------------------------------------------------------------


def test_notifier_delivers_queued_notices_in_the_background() -> None:
    receiver = Receiver()
    results: list[DeliveryResult] = []

    async def scenario() -> None:
        async with serving(receiver) as url:
            notifier = Notifier([WebhookTarget(url, SECRET)], on_result=results.append)
            async with notifier:
                notifier.notify(notice("a"))
                notifier.notify(notice("b"))
                await notifier.drain()

    asyncio.run(scenario())

    assert [json.loads(body)["AlarmName"] for _, body in receiver.requests] == ["a", "b"]
    assert [(r.alarm, r.ok) for r in results] == [("a", True), ("b", True)]


def test_full_queue_drops_the_oldest_notice_not_memory() -> None:
    receiver = Receiver()

    async def scenario() -> Notifier:
        async with serving(receiver) as url:
            notifier = Notifier([WebhookTarget(url, SECRET)], queue_size=2)
            for name in ("a", "b", "c", "d", "e"):  # nothing delivers yet: worker not started
                notifier.notify(notice(name))
            assert notifier.pending == 2
            async with notifier:
                await notifier.drain()
            return notifier

    notifier = asyncio.run(scenario())

    assert notifier.dropped == 3
    assert [json.loads(body)["AlarmName"] for _, body in receiver.requests] == ["d", "e"]


def test_notifier_survives_an_unreachable_target() -> None:
    results: list[DeliveryResult] = []
    port = free_port()

    async def scenario() -> None:
        target = WebhookTarget(f"http://127.0.0.1:{port}/", SECRET, backoff=Backoff(2))
        async with Notifier([target], sleep=Sleeps(), on_result=results.append) as notifier:
            notifier.notify(notice("a"))
            notifier.notify(notice("b"))
            await notifier.drain()

    asyncio.run(scenario())

    assert [(r.alarm, r.ok, r.attempts) for r in results] == [("a", False, 2), ("b", False, 2)]


def test_notifier_without_targets_ignores_notices() -> None:
    notifier = Notifier()

    notifier.notify(notice())

    assert notifier.pending == 0


# -- email against a real SMTP server --------------------------------------------------


class Inbox:
    """An aiosmtpd handler: answers 451 to the first ``busy`` messages, keeps the rest."""

    def __init__(self, busy: int = 0) -> None:
        self.busy = busy
        self.attempts = 0
        self.mail: list[tuple[str, list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.attempts += 1
        if self.attempts <= self.busy:
            return "451 4.3.0 Try again later"
        self.mail.append(
            (envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content))
        )
        return "250 OK"


@contextlib.contextmanager
def smtp_server(inbox: Inbox, **params: Any) -> Iterator[int]:
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **params)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def test_email_arrives_with_headers_and_body() -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        target = SmtpTarget("127.0.0.1", "alarms@overcast.test", ("ops@example.com",), port=port)
        result = asyncio.run(deliver_email(target, notice()))

    assert result.ok
    assert result.attempts == 1
    [(sender, recipients, message)] = inbox.mail
    assert sender == "alarms@overcast.test"
    assert recipients == ["ops@example.com"]
    assert message["Subject"] == 'ALARM: "orders-errors" in prod'
    assert message["From"] == "alarms@overcast.test"
    assert message["To"] == "ops@example.com"
    assert message["X-Overcast-State"] == "ALARM"
    assert message["X-Overcast-Alarm"] == "orders-errors"
    assert message["Message-ID"].endswith("@overcast.test>")
    body = message.get_payload(decode=True).decode()
    assert "changed state from OK to ALARM" in body
    assert "Reason for state change: 2 of 2 breaching" in body
    assert "- Dimensions: [FunctionName = orders]" in body


def test_email_is_retried_when_the_server_says_try_later() -> None:
    inbox, sleeps = Inbox(busy=2), Sleeps()
    with smtp_server(inbox) as port:
        target = SmtpTarget("127.0.0.1", "a@overcast.test", ("ops@example.com",), port=port)
        result = asyncio.run(deliver_email(target, notice(), sleep=sleeps))

    assert result.ok
    assert result.attempts == 3
    assert len(inbox.mail) == 1
    assert len(sleeps.delays) == 2


def test_email_to_an_unreachable_server_gives_up_without_raising() -> None:
    sleeps = Sleeps()
    target = SmtpTarget(
        "127.0.0.1", "a@overcast.test", ("ops@example.com",), port=free_port(), backoff=Backoff(2)
    )

    result = asyncio.run(deliver_email(target, notice(), sleep=sleeps))

    assert not result.ok
    assert result.attempts == 2
    assert "ConnectionRefusedError" in result.error


def test_budget_notice_mails_the_budgets_email_subscribers_too() -> None:
    warn = BudgetNotification(
        NotificationType.ACTUAL,
        BudgetComparison.GREATER_THAN,
        Decimal(80),
        subscribers=(
            Subscriber(SubscriptionType.EMAIL, "finance@example.com"),
            Subscriber(SubscriptionType.SNS, "arn:aws:sns:us-east-1:1:t"),
        ),
    )
    budget = BudgetSpec("Daily", "shop-daily", Decimal(5), TimeUnit.DAILY, (warn,))
    [budget_notice] = budget_notices(
        evaluate_budget(budget, Decimal("4.20")), {}, at=NOW, stage="prod"
    )
    inbox = Inbox()
    with smtp_server(inbox) as port:
        target = SmtpTarget("127.0.0.1", "a@overcast.test", ("ops@example.com",), port=port)
        result = asyncio.run(deliver_email(target, budget_notice))

    assert result.ok
    [(_, recipients, message)] = inbox.mail
    assert recipients == ["ops@example.com", "finance@example.com"]
    assert message["Subject"] == 'ALARM: "shop-daily ACTUAL>80%" in prod'
    assert "- ActualSpend: {'Amount': '4.20', 'Unit': 'USD'}" in message.get_payload()
    assert alarm_message(budget_notice)["Budget"]["ThresholdAmount"] == "4"
    assert (
        budget_notices(
            evaluate_budget(budget, Decimal("4.20")), {warn.key: BudgetState.ALARM}, at=NOW
        )
        == ()
    )


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_email_over_starttls_reaches_a_server_that_requires_it(
    tls_files: tuple[Path, Path],
) -> None:
    cert, key = tls_files
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    inbox = Inbox()
    with smtp_server(inbox, tls_context=server_tls, require_starttls=True) as port:
        plain = SmtpTarget("127.0.0.1", "a@overcast.test", ("ops@example.com",), port=port)
        secure = SmtpTarget(
            "127.0.0.1",
            "a@overcast.test",
            ("ops@example.com",),
            port=port,
            starttls=True,
            tls_context=ssl.create_default_context(cafile=str(cert)),
        )
        refused = asyncio.run(deliver_email(plain, notice(), sleep=Sleeps()))
        sent = asyncio.run(deliver_email(secure, notice()))

    assert not refused.ok
    assert refused.attempts == 1  # 530 "must issue STARTTLS first" is final
    assert sent.ok
    assert len(inbox.mail) == 1


def test_email_with_an_untrusted_certificate_is_not_sent(tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    inbox = Inbox()
    with smtp_server(inbox, tls_context=server_tls, require_starttls=True) as port:
        target = SmtpTarget(
            "127.0.0.1", "a@overcast.test", ("ops@example.com",), port=port, starttls=True
        )
        result = asyncio.run(deliver_email(target, notice(), sleep=Sleeps()))

    assert not result.ok
    assert result.attempts == 1
    assert "SSLCertVerificationError" in result.error
    assert inbox.mail == []


@pytest.mark.parametrize(
    ("url", "secret", "expected"),
    [
        ("ftp://hooks.example.com/", SECRET, "must be http"),
        ("https:///no-host", SECRET, "must be http"),
        ("https://hooks.example.com/", "", "needs a secret"),
    ],
)
def test_webhook_target_refuses_unusable_settings(url: str, secret: str, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        WebhookTarget(url, secret)


def test_alarm_name_with_a_line_break_cannot_inject_mail_headers() -> None:
    evil = Transition("x\r\nBcc: all@example.com", AlarmState.OK, AlarmState.ALARM, NOW, "r")
    target = SmtpTarget("127.0.0.1", "a@overcast.test", ("ops@example.com",), port=free_port())

    result = asyncio.run(deliver_email(target, AlarmNotice(evil)))

    assert not result.ok
    assert result.attempts == 0
    assert "ValueError" in result.error
