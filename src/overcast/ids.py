"""Request identifiers, minted per request by the gateway and per invocation by the runtime.

A neutral module (like ``invoke``) so that neither package imports the other.
"""

from __future__ import annotations

import os

# The RFC 4122 variant bits (10xx) over the random nibble at that position.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def request_id() -> str:
    """A random (version 4) UUID in its canonical text form, like ``str(uuid.uuid4())``.

    Formatted straight from 16 random bytes: ``uuid.uuid4()`` builds an object and
    an int on the way, which costs twice as much on a path that runs per invocation.
    """
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"
