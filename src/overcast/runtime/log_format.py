"""The platform's log lines, exactly as Lambda prints them.

Spacing and tabs as seen in CloudWatch: ``START RequestId: <id> Version: $LATEST``,
``END RequestId: <id>`` and ``REPORT RequestId: <id>\\tDuration: 3071.27 ms\\t
Billed Duration: 3072 ms\\tMemory Size: 128 MB\\tMax Memory Used: 21 MB\\t``, with
``Init Duration: 120.45 ms\\t`` appended on a cold start (examples:
https://github.com/alexa-samples/skill-sample-nodejs-smarthome-switch/issues/18,
https://github.com/open-telemetry/opentelemetry-lambda/pull/2011; field meanings:
https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html).

overcast appends one field of its own at the very end, when the invocation was
priced: ``Cost: 0.0000002021 USD\t`` (US dollars, 10 decimal places; see
docs/metrics.md). Lambda's fields keep their order and format, so parsers of
Lambda's REPORT lines read overcast's unchanged.
"""

from __future__ import annotations

import math
import time
from decimal import Decimal


def start_line(request_id: str, version: str = "$LATEST") -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def billed_duration_ms(duration_ms: float, init_duration_ms: float | None = None) -> int:
    """Billed Duration: rounded up to the next millisecond (1 ms granularity since Dec 2020).

    Since August 2025 the INIT phase of on-demand functions is billed too, so a cold
    invocation's Billed Duration covers Init Duration + Duration
    (https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/).
    """
    total = duration_ms + (init_duration_ms or 0.0)
    return max(1, math.ceil(total))


def report_line(
    request_id: str,
    duration_ms: float,
    memory_size_mb: int,
    max_memory_used_mb: int,
    init_duration_ms: float | None = None,
    *,
    cost_usd: Decimal | None = None,
) -> str:
    """The REPORT line; ``init_duration_ms`` only on the instance's first invocation.

    ``cost_usd`` (when the invocation was priced) becomes the last field.
    """
    line = (
        f"REPORT RequestId: {request_id}\t"
        f"Duration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {billed_duration_ms(duration_ms, init_duration_ms)} ms\t"
        f"Memory Size: {memory_size_mb} MB\t"
        f"Max Memory Used: {max_memory_used_mb} MB\t"
    )
    if init_duration_ms is not None:
        line += f"Init Duration: {init_duration_ms:.2f} ms\t"
    if cost_usd is not None:
        line += f"Cost: {cost_usd:.10f} USD\t"
    return line


def log_stream_name(
    instance_id: str, version: str = "$LATEST", epoch_s: float | None = None
) -> str:
    """``2026/11/27/[$LATEST]<32 hex>``: one stream per execution environment."""
    now = time.time() if epoch_s is None else epoch_s
    return time.strftime("%Y/%m/%d", time.gmtime(now)) + f"/[{version}]{instance_id}"


def log_group_name(function_name: str) -> str:
    return f"/aws/lambda/{function_name}"


def kb_to_mb(kilobytes: int) -> int:
    """Max Memory Used is whole megabytes, rounded up."""
    return (kilobytes + 1023) // 1024
