"""Signed-in browsers: a server-side table of random session tokens with an expiry.

The cookie carries only the token (``secrets.token_urlsafe``, 256 bits); who it
belongs to, its CSRF token and when it ends live here, in memory, so a restart signs
everybody out and logging out really ends the session. Sessions end ``ttl_s`` after
sign-in, ``idle_s`` after the last request, or when the key expires, whichever comes
first — and as soon as the key no longer grants what it granted at sign-in: every
look-up asks the injected :data:`Identify` about the key again, so a key revoked or
narrowed while the platform runs ends its sessions at their next request.
"""

from __future__ import annotations

import hmac
import logging
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from overcast.errors import OvercastError

logger = logging.getLogger("overcast.dashboard.sessions")


@dataclass(frozen=True, slots=True)
class Identity:
    """Who signed in: what the injected authenticator says about an admin key."""

    access_key_id: str
    #: whether the key may roll stages back at all
    can_rollback: bool = True
    #: the stages the key may act on; empty = every stage (as ``AccessKey.stages``)
    stages: tuple[str, ...] = ()
    #: the stacks (apps) of those stages it may act on; empty = every stack
    stacks: tuple[str, ...] = ()
    #: when the key stops working (temporary credentials); None = until revoked
    expires: float | None = None

    def same_grant(self, other: Identity) -> bool:
        """Whether ``other`` is the same key granting exactly the same (order aside)."""
        return (
            self.access_key_id == other.access_key_id
            and self.can_rollback == other.can_rollback
            and set(self.stages) == set(other.stages)
            and set(self.stacks) == set(other.stacks)
            and self.expires == other.expires
        )

    def owns(self, stack: str | None) -> bool:
        """Whether this key may see what ``stack`` runs."""
        return not self.stacks or stack in self.stacks

    def may_see(self, stage: str | None) -> bool:
        """Whether this key may see ``stage`` (None: something of no stage, platform-wide)."""
        return not self.stages or stage in self.stages

    def may_rollback(self, stage: str) -> bool:
        """Whether this key may roll ``stage`` back."""
        return self.can_rollback and self.may_see(stage)


@dataclass(frozen=True, slots=True)
class Session:
    """One signed-in browser."""

    token: str
    identity: Identity
    csrf_token: str
    created: float
    last_seen: float
    expires: float

    def csrf_matches(self, offered: str | None) -> bool:
        """Constant-time check of a CSRF token sent with a state-changing request."""
        return offered is not None and hmac.compare_digest(
            offered.encode(), self.csrf_token.encode()
        )


#: ``access key id → what it grants now``; None once the key is revoked, expired or no
#: longer admitted to the dashboard. Called on every request of a session: keep it cheap.
Identify = Callable[[str], Identity | None]


class SessionTable:
    """Tokens → sessions, bounded in size; safe to use from several threads."""

    def __init__(
        self,
        *,
        identify: Identify,
        ttl_s: float = 12 * 3600.0,
        idle_s: float = 2 * 3600.0,
        max_sessions: int = 1000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ttl_s = ttl_s
        self.idle_s = idle_s
        self.max_sessions = max_sessions
        self._clock = clock
        self._identify = identify
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def create(self, identity: Identity) -> Session:
        """Start a session for ``identity``; the oldest ones make room when the table is full."""
        now = self._clock()
        session = Session(
            token=secrets.token_urlsafe(32),
            identity=identity,
            csrf_token=secrets.token_urlsafe(32),
            created=now,
            last_seen=now,
            expires=min(
                now + self.ttl_s, math.inf if identity.expires is None else identity.expires
            ),
        )
        with self._lock:
            self._prune(now)
            while len(self._sessions) >= self.max_sessions:
                oldest = min(self._sessions.values(), key=lambda s: s.last_seen)
                del self._sessions[oldest.token]
            self._sessions[session.token] = session
        return session

    def get(self, token: str | None, *, touch: bool = True) -> Session | None:
        """The live session of ``token``, else None (and the session, if any, ends).

        ``touch`` restarts its idle timer (a request of the person); an open log stream
        checking that it may go on looks without touching.
        """
        if not token:
            return None
        now = self._clock()
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if self._over(session, now):
                del self._sessions[token]
                return None
        # Asked outside the lock: the key store may read a file.
        if not self._still_granted(session.identity):
            self.end(token)
            return None
        if not touch:
            return session
        with self._lock:
            if token not in self._sessions:  # ended meanwhile (signed out)
                return None
            session = replace(self._sessions[token], last_seen=now)
            self._sessions[token] = session
            return session

    def end(self, token: str | None) -> None:
        """Forget a session (logout); unknown tokens are ignored."""
        if token:
            with self._lock:
                self._sessions.pop(token, None)

    def _over(self, session: Session, now: float) -> bool:
        return now >= session.expires or now - session.last_seen >= self.idle_s

    def _still_granted(self, signed_in: Identity) -> bool:
        try:
            current = self._identify(signed_in.access_key_id)
        except (OvercastError, OSError) as exc:
            # The key store cannot be read: nobody can tell the key is still good.
            logger.warning("session of %s ended: %s", signed_in.access_key_id, exc)
            return False
        return current is not None and current.same_grant(signed_in)

    def _prune(self, now: float) -> None:
        dead = [token for token, s in self._sessions.items() if self._over(s, now)]
        for token in dead:
            del self._sessions[token]
