"""The admin API's answer when the platform cannot write its state (a full or read-only
disk): one line in the rest-json error shape, never a traceback.

The message names the failure (``no space left on device``) but not the platform's
paths, which are no business of the caller's. Statuses: 507 Insufficient Storage for a
full disk or quota (RFC 4918), 503 for a read-only file system (an operator must act;
clients may retry later), 500 otherwise; the code is Lambda's ``ServiceException``.
"""

from __future__ import annotations

import errno
import os
import sqlite3

from overcast.control.access import Denied

# sqlite3's extended result codes for the same two situations
_SQLITE_FULL = 13
_SQLITE_READONLY = 8
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def write_errno(exc: BaseException) -> int | None:
    """The errno behind a failed write, looking through wrapping errors' causes."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno is not None:
            return current.errno
        if isinstance(current, sqlite3.Error):
            code = getattr(current, "sqlite_errorcode", None)
            if code is not None and code & 0xFF == _SQLITE_FULL:
                return errno.ENOSPC
            if code is not None and code & 0xFF == _SQLITE_READONLY:
                return errno.EROFS
        current = current.__cause__ or current.__context__
    return None


def is_write_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is (or wraps) the platform failing to write its state."""
    return write_errno(exc) is not None


def write_failure(exc: BaseException, doing: str, outcome: str = "nothing was changed") -> Denied:
    """The answer to a request that failed ``doing`` (e.g. "store artifact 1a2b3c")."""
    number = write_errno(exc)
    if number in _FULL:
        reason, status = "the platform's disk is full", 507
    elif number == errno.EROFS:
        reason, status = "the platform's state folder is read-only", 503
    else:
        reason, status = "the platform's state could not be written", 500
    detail = f" ({os.strerror(number)})" if number is not None else ""
    return Denied(
        status,
        "ServiceException",
        f"cannot {doing}: {reason}{detail}; {outcome}",
    )
