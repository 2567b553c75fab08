"""AWS-shaped error payloads and log lines, shared by the worker and the platform.

The field set and ordering follow the Python runtime interface client's
``make_error`` and ``FaultException`` types
(https://github.com/aws/aws-lambda-python-runtime-interface-client,
``awslambdaric/bootstrap.py`` and ``awslambdaric/lambda_runtime_exception.py``).
"""

from __future__ import annotations

import json
import signal
import time
from typing import Any

IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
MARSHAL_ERROR = "Runtime.MarshalError"
UNMARSHAL_ERROR = "Runtime.UnmarshalError"
EXIT_ERROR = "Runtime.ExitError"
RESPONSE_TOO_LARGE = "Function.ResponseSizeTooLarge"
SANDBOX_TIMEDOUT = "Sandbox.Timedout"

#: Lambda's text log format replaces the traceback's leading spaces by NO-BREAK
#: SPACE and joins the lines with CR so that one error stays one log event.
ERROR_LOG_INDENT = "\u00a0"
ERROR_LOG_LINE_TERMINATE = "\r"

# The Lambda service (written in Go) words exit statuses as Go's
# os.ProcessState.String() does: "exit status 1", "signal: segmentation fault".
_GO_SIGNAL_NAMES = {
    signal.SIGABRT: "aborted",
    signal.SIGALRM: "alarm clock",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating point exception",
    signal.SIGHUP: "hangup",
    signal.SIGILL: "illegal instruction",
    signal.SIGINT: "interrupt",
    signal.SIGKILL: "killed",
    signal.SIGPIPE: "broken pipe",
    signal.SIGQUIT: "quit",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGTERM: "terminated",
    signal.SIGTRAP: "trace/breakpoint trap",
    signal.SIGUSR1: "user defined signal 1",
    signal.SIGUSR2: "user defined signal 2",
    signal.SIGXCPU: "CPU time limit exceeded",
    signal.SIGXFSZ: "file size limit exceeded",
}


def make_error(
    message: str, error_type: str, stack_trace: list[str] | None, request_id: str = ""
) -> dict[str, Any]:
    """The error object the Python runtime posts for a failed init or invocation."""
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id,
        "stackTrace": stack_trace or [],
    }


def error_json(error: dict[str, Any]) -> bytes:
    """Serialize like the runtime's ``to_json`` (json's default separators)."""
    return json.dumps(error).encode()


def format_error_log(error: dict[str, Any]) -> str:
    """The ``[ERROR] Type: message`` + traceback log line the runtime prints (text format)."""
    description = "[ERROR]"
    error_type = error.get("errorType")
    if error_type:
        description += " " + error_type
    message = error.get("errorMessage")
    if message:
        if error_type:
            description += ":"
        description += " " + message
    lines = [description]
    stack_trace = error.get("stackTrace")
    if stack_trace is not None:
        lines.append("Traceback (most recent call last):")
        for element in stack_trace:
            if element == "":
                lines.append("")
                continue
            for line in element.splitlines():
                stripped = line.lstrip(" ")
                lines.append(ERROR_LOG_INDENT * (len(line) - len(stripped)) + stripped)
    return ERROR_LOG_LINE_TERMINATE.join(lines) + "\n"


def describe_exit(exit_code: int | None, signal_number: int | None) -> str:
    """Go's wording of a process exit: ``exit status 1`` / ``signal: killed``."""
    if signal_number is not None:
        try:
            name = _GO_SIGNAL_NAMES.get(signal.Signals(signal_number))
        except ValueError:
            name = None
        return f"signal: {name or f'signal {signal_number}'}"
    return f"exit status {exit_code if exit_code is not None else -1}"


def exit_error(request_id: str, exit_code: int | None, signal_number: int | None) -> dict[str, str]:
    """The invocation result when the runtime process died mid-invocation.

    Shape as Lambda returns it, e.g. ``{"errorType": "Runtime.ExitError",
    "errorMessage": "RequestId: <id> Error: Runtime exited with error: signal: killed"}``
    (https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-invocation.html;
    the same text shows in CloudWatch, e.g.
    https://github.com/praetorian-inc/chariot-ui/issues/166).
    """
    return {
        "errorType": EXIT_ERROR,
        "errorMessage": (
            f"RequestId: {request_id} Error: Runtime exited with error: "
            f"{describe_exit(exit_code, signal_number)}"
        ),
    }


def exit_error_log(request_id: str, exit_code: int | None, signal_number: int | None) -> str:
    """The log event Lambda writes after END/REPORT when the runtime died."""
    return (
        f"RequestId: {request_id} Error: Runtime exited with error: "
        f"{describe_exit(exit_code, signal_number)}\n{EXIT_ERROR}"
    )


def timestamp_iso(epoch_s: float | None = None) -> str:
    """``2020-11-10T05:46:57.874Z``: the timestamp Lambda puts in a timeout message."""
    now = time.time() if epoch_s is None else epoch_s
    millis = int(now * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{millis:03d}Z"


def timeout_message(request_id: str, timeout_s: float, epoch_s: float | None = None) -> str:
    """``<timestamp> <request id> Task timed out after 3.00 seconds``: the log line that
    closes a timed-out invocation, e.g.
    https://github.com/alexa-samples/skill-sample-nodejs-smarthome-switch/issues/18.
    """
    return f"{timestamp_iso(epoch_s)} {request_id} Task timed out after {timeout_s:.2f} seconds"


def timeout_error(request_id: str, timeout_s: float) -> dict[str, str]:
    """The Invoke response payload of a timed-out invocation (or of an Init retried
    within the invocation that ran out of time), as Lambda answers it today:
    ``{"errorType": "Sandbox.Timedout", "errorMessage": "RequestId: <id> Error: Task
    timed out after 3.00 seconds"}``
    (https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-invocation.html; the
    exact text as AWS returns it is quoted in https://github.com/floci-io/floci/issues/3314).
    """
    return {
        "errorType": SANDBOX_TIMEDOUT,
        "errorMessage": (
            f"RequestId: {request_id} Error: Task timed out after {timeout_s:.2f} seconds"
        ),
    }


def init_report_line(duration_ms: float, phase: str, status: str) -> str:
    """``INIT_REPORT Init Duration: 10000.12 ms\tPhase: init\tStatus: timeout``: what
    Lambda logs when an Init does not end well (``phase`` is ``init``, or ``invoke`` for
    an Init retried within the first invocation)."""
    return f"INIT_REPORT Init Duration: {duration_ms:.2f} ms\tPhase: {phase}\tStatus: {status}"


def response_too_large_error(limit: int) -> dict[str, str]:
    """Returned when a handler's response exceeds the synchronous payload quota.

    https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-invocation.html
    """
    return {
        "errorMessage": (
            f"Response payload size exceeded maximum allowed payload size ({limit} bytes)."
        ),
        "errorType": RESPONSE_TOO_LARGE,
    }
