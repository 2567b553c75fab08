"""The Lambda Python runtime inside one instance (a process forked from a zygote).

Blocking and single-threaded, like Lambda's own bootstrap: set up the sandbox, import
the handler once (Init), then serve one ``Invoke`` frame at a time over the instance's
socket. Output goes to fd 1/2, a pipe the platform reads; after each invocation the
worker flushes and writes the instance's end marker into that pipe, so the platform
can attribute every line to its invocation — unless the pipe is already empty, in
which case ``Done`` says there is no marker to wait for (see ``log_pipe``).

Formats follow awslambdaric (https://github.com/aws/aws-lambda-python-runtime-interface-client,
``awslambdaric/bootstrap.py``): handler lookup errors, the error object, the
``[ERROR]`` log line and the root logger's format.
"""

from __future__ import annotations

import base64
import decimal
import fcntl
import importlib
import io
import json
import logging
import os
import resource
import signal
import socket
import sys
import termios
import time
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

import msgspec

from overcast.runtime import lambda_errors
from overcast.runtime.context import LambdaContext
from overcast.runtime.frames import FrameDecoder, encode_frame
from overcast.runtime.messages import (
    Done,
    InitFailed,
    Invoke,
    Ready,
    WorkerSpec,
    to_worker_decoder,
    zygote_encoder,
)

#: awslambdaric's text format for the root logger (``_setup_logging``); the request id
#: comes from a filter, and ``logging.Formatter.converter`` is ``time.gmtime``.
LOG_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s"
LOG_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"

_current_request_id = ""
_THIS_FILE = __file__
#: FIONREAD's answer for an empty pipe (a C int of 0, whatever the byte order).
_NOTHING_PENDING = bytes(4)
#: The first read of a frame; a bigger frame is read on in large steps.
_SMALL_READ = 64 * 1024
_LARGE_READ = 1 << 20


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _current_request_id
        return True


class _StdoutHandler(logging.Handler):
    """Writes each record to whatever ``sys.stdout`` is at emit time, as Lambda's sink does."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record) + "\n")
        except Exception:  # noqa: BLE001 - logging must never break the handler
            self.handleError(record)


class _FaultError(Exception):
    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace


_fast_json_decode = msgspec.json.Decoder().decode


def _load_event(payload: bytes) -> Any:
    """The event as ``json.loads`` gives it, decoded by msgspec when msgspec can.

    msgspec (about 6x faster) yields the same objects as ``json.loads`` for every
    document it accepts (arbitrary-precision ints, correctly rounded floats, last
    duplicate key wins); what it refuses (NaN, 1E400, lone surrogates, other
    encodings, malformed input, very deep nesting) goes to ``json.loads``, which
    then decides exactly as before, error messages included.
    """
    try:
        return _fast_json_decode(payload)
    except (msgspec.DecodeError, RecursionError):
        return json.loads(payload)


def _json_default(obj: object) -> object:
    # awslambdaric encodes Decimal as a raw JSON number through simplejson; the
    # stdlib cannot emit raw numbers, so integral decimals become ints, others floats.
    if isinstance(obj, decimal.Decimal):
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _setup_process(spec: WorkerSpec, log_fd: int, cgroup_fds: list[int]) -> int:
    """Join the instance's cgroups and set the process up; return its log descriptor.

    fd 1 and fd 2 are copies of the pipe that user code may close or redirect; the
    private copy (close-on-exec) is where end markers go and what FIONREAD asks, so
    the platform's view of the pipe never depends on what the handler did to fd 1.
    """
    # Join the instance's cgroups first, before anything is allocated. The platform
    # opened each cgroup.procs for us (the sandbox has no /sys); "0" means "me".
    for fd in cgroup_fds:
        try:
            os.write(fd, b"0")
        finally:
            os.close(fd)
    os.setsid()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.set_inheritable(log_fd, False)
    # Lambda's runtime makes stdout/stderr unbuffered; write_through does that here.
    sys.stdout = io.TextIOWrapper(
        io.FileIO(1, "w", closefd=False),
        encoding="utf-8",
        errors="backslashreplace",
        write_through=True,
        line_buffering=False,
    )
    sys.stderr = io.TextIOWrapper(
        io.FileIO(2, "w", closefd=False),
        encoding="utf-8",
        errors="backslashreplace",
        write_through=True,
        line_buffering=False,
    )
    os.environ.clear()
    os.environ.update(spec.env)
    time.tzset()
    os.chdir(spec.code_dir)
    zygote_path = [entry for entry in sys.path if entry not in ("", ".")]
    front = [spec.code_dir] + ([spec.deps_dir] if spec.deps_dir else [])
    sys.path[:] = front + [entry for entry in zygote_path if entry not in front]
    sys.dont_write_bytecode = spec.dont_write_bytecode
    importlib.invalidate_caches()
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGCHLD):
        signal.signal(number, signal.SIG_DFL)

    logging.Formatter.converter = time.gmtime
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler = _StdoutHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT, LOG_DATE_FORMAT))
    handler.addFilter(_RequestIdFilter())
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level in logging.getLevelNamesMapping():
        root.setLevel(level)
    return log_fd


def _load_handler(handler: str) -> Callable[[Any, Any], Any]:
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as exc:
        raise _FaultError(
            lambda_errors.MALFORMED_HANDLER_NAME, f"Bad handler '{handler}': {exc}"
        ) from None
    try:
        if module_name.split(".")[0] in sys.builtin_module_names:
            raise _FaultError(
                lambda_errors.BUILT_IN_MODULE_CONFLICT,
                f"Cannot use built-in module {module_name} as a handler module",
            )
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise _FaultError(
            lambda_errors.IMPORT_MODULE_ERROR, f"Unable to import module '{module_name}': {exc}"
        ) from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise _FaultError(
            lambda_errors.USER_CODE_SYNTAX_ERROR,
            f"Syntax error in module '{module_name}': {exc}",
            trace,
        ) from None
    try:
        function: Callable[[Any, Any], Any] = getattr(module, function_name)
    except AttributeError:
        raise _FaultError(
            lambda_errors.HANDLER_NOT_FOUND,
            f"Handler '{function_name}' missing on module '{module_name}'",
        ) from None
    return function


def _user_stack_trace(tb: Any) -> list[str]:
    frames = traceback.extract_tb(tb)
    # Like awslambdaric dropping bootstrap.py frames: start at the first user frame.
    for index, frame in enumerate(frames):
        if frame.filename != _THIS_FILE:
            frames = traceback.StackSummary.from_list(frames[index:])
            break
    return traceback.format_list(frames)


def _exception_error(exc: BaseException, request_id: str) -> dict[str, Any]:
    return lambda_errors.make_error(
        str(exc), type(exc).__name__, _user_stack_trace(exc.__traceback__), request_id
    )


def _flush() -> None:
    # A plain try (not contextlib.suppress): this runs after every invocation.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            continue


def _flush_and_mark(marker: bytes, log_fd: int) -> None:
    _flush()
    os.write(log_fd, marker)


def _end_output(marker: bytes, log_fd: int) -> bool:
    """Flush, then write the end marker unless the platform has read everything.

    Returns whether the marker was written. FIONREAD on a pipe counts the bytes not
    yet read whichever end asks; 0 means every line of this invocation is already
    in the platform's hands, so ``Done`` itself can close the invocation's log.
    """
    _flush()
    try:
        if fcntl.ioctl(log_fd, termios.FIONREAD, _NOTHING_PENDING) == _NOTHING_PENDING:
            return False
    except OSError:
        pass  # not a pipe any more: the marker is always safe
    os.write(log_fd, marker)
    return True


class _Channel:
    """The worker's blocking end of its socket to the platform."""

    def __init__(self, fd: int) -> None:
        self.sock = socket.socket(fileno=fd)
        self.sock.setblocking(True)
        self.decoder = FrameDecoder()
        self.frames: list[bytes] = []

    def send(self, message: object) -> None:
        self.sock.sendall(encode_frame(zygote_encoder.encode(message)))

    def receive(self) -> Invoke | None:
        frames = self.frames
        while not frames:
            # A small read for the usual small frame (recv allocates its whole size);
            # large steps once a frame turns out to be big.
            size = _LARGE_READ if self.decoder.pending else _SMALL_READ
            data = self.sock.recv(size)
            if not data:
                return None
            frames.extend(self.decoder.feed(data))
        return to_worker_decoder.decode(frames.pop(0))


def _serve(spec: WorkerSpec, channel: _Channel, log_fd: int) -> None:
    global _current_request_id  # noqa: PLW0603 - the logging filter reads it, as in awslambdaric
    started = time.perf_counter()
    init_error: dict[str, Any] | None = None
    try:
        handler = _load_handler(spec.handler)
    except _FaultError as fault:
        init_error = lambda_errors.make_error(fault.message, fault.error_type, fault.trace)
    except Exception as exc:  # noqa: BLE001 - any init failure is reported in AWS's shape
        init_error = _exception_error(exc, "")
    else:
        init_ms = (time.perf_counter() - started) * 1000.0
        _flush_and_mark(spec.marker, log_fd)
        channel.send(Ready(init_ms))
    if init_error is not None:
        init_ms = (time.perf_counter() - started) * 1000.0
        sys.stdout.write(lambda_errors.format_error_log(init_error))
        _flush_and_mark(spec.marker, log_fd)
        channel.send(InitFailed(lambda_errors.error_json(init_error), init_ms))
        return

    marker = spec.marker
    dumps = json.JSONEncoder(default=_json_default).encode
    while True:
        invoke = channel.receive()
        if invoke is None:
            return
        request_id = invoke.request_id
        _current_request_id = request_id
        begin = time.perf_counter()
        is_error = False
        error: dict[str, Any] | None = None
        try:
            client_context = (
                json.loads(_b64(invoke.client_context)) if invoke.client_context else None
            )
            context = LambdaContext(
                request_id, invoke.deadline_ms, invoke.invoked_function_arn, client_context
            )
            try:
                event = _load_event(invoke.payload) if invoke.payload else None
            except ValueError as exc:
                raise _FaultError(
                    lambda_errors.UNMARSHAL_ERROR, f"Unable to unmarshal input: {exc}"
                ) from None
            response = handler(event, context)
            if isinstance(response, bytes):
                payload = response
            else:
                try:
                    payload = dumps(response).encode()
                except (TypeError, ValueError, OverflowError) as exc:
                    raise _FaultError(
                        lambda_errors.MARSHAL_ERROR, f"Unable to marshal response: {exc}"
                    ) from None
        except _FaultError as fault:
            is_error = True
            error = lambda_errors.make_error(
                fault.message, fault.error_type, fault.trace, request_id
            )
        except Exception as exc:  # noqa: BLE001 - a handler's exception is its invocation's result
            is_error = True
            error = _exception_error(exc, request_id)
        duration_ms = (time.perf_counter() - begin) * 1000.0
        if error is not None:
            payload = lambda_errors.error_json(error)
            sys.stdout.write(lambda_errors.format_error_log(error))
        marked = _end_output(marker, log_fd)
        max_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        channel.send(Done(request_id, payload, is_error, duration_ms, max_rss_kb, marked))


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def run(spec: WorkerSpec, sock_fd: int, log_fd: int, cgroup_fds: list[int]) -> NoReturn:
    """Entry point of a freshly forked child; never returns to the zygote's code."""
    code = 0
    try:
        private_log_fd = _setup_process(spec, log_fd, cgroup_fds)
        _serve(spec, _Channel(sock_fd), private_log_fd)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - report, then leave without zygote cleanup
        code = 1
        try:
            traceback.print_exc()
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
