"""Asynchronous invocation: Lambda's internal event queue, its retries and destinations.

Owns: the pure retry decision (``retry_policy``), the durable SQLite queue in the
state folder (``async_queue``), the asyncio adapter that drains it into an
:class:`overcast.invoke.Invoker` within each function's concurrency (``dispatcher``)
the destination invocation record (``invocation_record``), and schedules: the
payload a tick sends (``scheduled_event``) and the loop that claims each tick in
the store and queues it (``scheduler``); SQS-compatible queues (``sqs_rules``,
``sqs_store``) and SNS-compatible topics: their rules (``sns_rules``), store
(``sns_store``), the events and envelopes subscribers get (``sns_event``), filter
policies (``sns_filter``) and Publish's fan-out (``sns_fanout``); S3
notifications: the record a bucket's change sends and which notifications want it
(``s3_event``).

May import: ``overcast.invoke``, ``overcast.sqlite_wal``, ``overcast.errors``,
``overcast.ids``, ``overcast.schedule_expression``, ``overcast.event_filter``, the
standard library and orjson.
Never the gateway, the edge or anything HTTP: callers (the Lambda API) hand it
requests and get request ids back.
"""

from __future__ import annotations

from overcast.events.async_queue import EVENTS_FILE, AsyncQueue, EventCounts, QueuedEvent
from overcast.events.dispatcher import AsyncSettings, Destination, Dispatcher
from overcast.events.errors import EventsError
from overcast.events.retry_policy import GiveUp, Retry, RetryConfig, next_attempt
from overcast.events.scheduler import Scheduler, ScheduleTarget
from overcast.events.sqs_poller import EventSourceMapping, MappingTarget, SqsPoller

__all__ = [
    "EVENTS_FILE",
    "AsyncQueue",
    "AsyncSettings",
    "Destination",
    "Dispatcher",
    "EventCounts",
    "EventSourceMapping",
    "EventsError",
    "GiveUp",
    "MappingTarget",
    "QueuedEvent",
    "Retry",
    "RetryConfig",
    "ScheduleTarget",
    "Scheduler",
    "SqsPoller",
    "next_attempt",
]
