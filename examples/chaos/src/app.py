"""Handlers that misbehave on purpose, one way each, and one that behaves."""

from __future__ import annotations

import ctypes
import json
import os
import sys
import time
from typing import Any

#: Upper bound on the fork bomb, so a platform that fails to contain it still
#: ends; a real bomb would never stop.
FORK_LIMIT = 5000
#: How long each forked child lingers (it must outlive the loop to pile up).
CHILD_LINGER_S = 20.0
#: The children's process name (Linux comm, at most 15 bytes), so a test can count them.
CHILD_NAME = b"chaos-forkchild"

_calls = 0


def raises(event: Any, context: Any) -> Any:
    raise ValueError("this handler always raises")


def exits(event: Any, context: Any) -> Any:
    print("exiting the process without returning")
    sys.stdout.flush()
    os._exit(1)


def segfaults(event: Any, context: Any) -> Any:
    print("about to read address 0")
    sys.stdout.flush()
    return ctypes.string_at(0)


def loops(event: Any, context: Any) -> Any:
    while True:
        pass


def hog(event: Any, context: Any) -> Any:
    # Filled bytes, 10 MB at a time: zeroed allocations may never become resident,
    # and a steady climb is what a leaking handler looks like.
    chunks = [b"\x5a" * (10 << 20) for _ in range(40)]
    return {"statusCode": 200, "body": f"held {len(chunks) * 10} MB"}


def loud(event: Any, context: Any) -> Any:
    line = "x" * 1023 + "\n"
    for _ in range(50 * 1024):  # 50 MB in 1 KB lines
        sys.stdout.write(line)
    sys.stdout.flush()
    return {"statusCode": 200, "body": "ok"}


def fork_bomb(event: Any, context: Any) -> Any:
    children = 0
    for _ in range(FORK_LIMIT):
        pid = os.fork()
        if pid == 0:
            _name_this_process(CHILD_NAME)
            time.sleep(CHILD_LINGER_S)
            os._exit(0)
        children += 1
    return {"statusCode": 200, "body": f"forked {children} children"}


def _name_this_process(name: bytes) -> None:
    try:
        libc = ctypes.CDLL(None)
        libc.prctl(15, ctypes.c_char_p(name), 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        return  # not Linux: the name only helps tests


def healthy(event: Any, context: Any) -> Any:
    global _calls  # noqa: PLW0603 - per-instance counter shows warm reuse
    _calls += 1
    return {"statusCode": 200, "body": json.dumps({"pid": os.getpid(), "calls": _calls})}
