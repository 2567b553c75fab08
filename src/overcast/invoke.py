"""The contract between callers of functions (gateway, Lambda API) and the runtime.

It owns only data types and two protocols; it imports nothing from overcast but
``errors`` (and msgspec, for the one struct built on every invocation). The gateway
and the admin API depend on :class:`Invoker`, never on the runtime's processes, and
the runtime implements it. The runtime reports each finished invocation to an
:class:`InvocationRecorder` (``overcast.observe`` implements it), so that neither
knows the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import msgspec

from overcast.errors import OvercastError

#: Lambda's synchronous invocation payload limit (request and response), in bytes.
#: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class InvokeRequest:
    """One synchronous invocation of a function.

    ``payload`` is the event as JSON bytes, exactly as the handler will decode it.
    ``timeout_cap_s`` lets a caller (an API's integration timeout) shorten the
    function's own Timeout; None means the function's Timeout alone applies.
    """

    function_name: str
    payload: bytes
    qualifier: str = "$LATEST"
    client_context: str | None = None  # base64 JSON, as the Invoke API carries it
    want_log_tail: bool = False
    timeout_cap_s: float | None = None
    #: the kind of API Gateway API that sent it (``"http"`` or ``"rest"``), None for a
    #: direct invoke; only metering reads it (each kind has its own request price)
    api_kind: str | None = None
    #: the invocation's request id when the caller chose it (an Event invocation keeps
    #: one id across its retries, as Lambda does); None lets the runtime mint one
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class InvokeResult:
    """What the function returned, or the AWS-shaped error JSON when it failed.

    ``function_error`` is None on success and ``"Unhandled"`` when the handler
    raised, timed out, ran out of memory or its process died (Lambda's
    ``X-Amz-Function-Error``). ``log_tail`` is the last 4 KB of the invocation's
    log when the request asked for it.
    """

    payload: bytes
    function_error: str | None = None
    executed_version: str = "$LATEST"
    request_id: str = ""
    log_tail: bytes = b""
    timed_out: bool = False


class InvokeError(OvercastError):
    """An invocation was refused before or instead of running the handler."""

    #: the Lambda API error code (``x-amzn-ErrorType``) and HTTP status it maps to
    error_type: str = "ServiceException"
    status: int = 500


class FunctionNotFoundError(InvokeError):
    error_type = "ResourceNotFoundException"
    status = 404


class ThrottledError(InvokeError):
    """Reserved or node-wide concurrency is exhausted; nothing is queued."""

    error_type = "TooManyRequestsException"
    status = 429

    def __init__(
        self, message: str, *, reason: str = "ReservedFunctionConcurrentInvocationLimitExceeded"
    ) -> None:
        super().__init__(message)
        self.reason = reason


class SpendCapReachedError(InvokeError):
    """The function's budget cap refuses it until the period rolls over (overcast's own)."""

    error_type = "TooManyRequestsException"
    status = 429


class RequestTooLargeError(InvokeError):
    error_type = "RequestTooLargeException"
    status = 413


class ServiceError(InvokeError):
    """The platform itself failed to run the invocation (e.g. the zygote is gone)."""

    error_type = "ServiceException"
    status = 500


class Invoker(Protocol):
    """Anything that runs functions: the runtime, or a fake in tests.

    An invoker may declare a class attribute ``cancel_safe = True``: cancelling a
    call to :meth:`invoke` then abandons only the wait, and the invocation still
    runs to its end under the invoker's ownership. Callers with a deadline (the
    gateway's integration timeout) await such an invoker directly; any other they
    run in a task of their own so that the deadline never cancels the invocation.
    """

    async def invoke(self, request: InvokeRequest) -> InvokeResult:
        """Run one invocation; raise an :class:`InvokeError` if it cannot start."""
        ...

    def function_names(self) -> list[str]:
        """Names of the functions this invoker can run."""
        ...


class InvocationReport(msgspec.Struct, frozen=True):
    """What one finished (or throttled) invocation cost in time and memory.

    The fields of its REPORT line, plus what metering needs: ``billed_ms`` is the
    REPORT line's Billed Duration exactly; ``init_duration_ms`` is set on a cold
    start; ``throttled`` invocations never ran (all times are 0). A msgspec struct,
    not a dataclass: one is built per invocation, and it is ten times cheaper.
    """

    function_name: str
    version: str
    stage: str
    duration_ms: float
    billed_ms: int
    memory_mb: int
    max_memory_used_mb: int = 0
    init_duration_ms: float | None = None
    error: bool = False
    timed_out: bool = False
    throttled: bool = False
    api_kind: str | None = None
    #: the stack (app) of the stage that ran it ("" under ``overcast up``)
    stack: str = ""


class InvocationRecorder(Protocol):
    """Where the runtime reports invocations (metrics and cost); must not block.

    Called on the event loop as each invocation settles: implementations only touch
    memory (no I/O, no awaits) and leave storage to a background task.
    """

    def record_invocation(self, report: InvocationReport) -> Decimal | None:
        """Count one invocation; return its price in US dollars, or None if unpriced."""
        ...
