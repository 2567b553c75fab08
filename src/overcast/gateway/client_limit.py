"""Per-client rate limits: one token bucket per client address, with bounded memory.

API Gateway has no per-client-address limit; AWS's answer to one client flooding
an API is AWS WAF's rate-based rule, which counts requests per source IP in front
of the API and blocks the ones over the limit
(https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based.html).
overcast does it with the same token bucket as API Gateway's throttling and
answers 429 ``{"message":"Too Many Requests"}``.

At most ``max_clients`` addresses are tracked; the least recently seen is
forgotten first, so a flood of unique (spoofed or botnet) addresses costs a fixed
amount of memory. A forgotten client comes back with a full bucket: the bound on
memory is paid for with a bound on accuracy, not with unbounded growth.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from overcast.gateway.throttle import ThrottleConfigError, ThrottleLimit, TokenBucket

__all__ = ["DEFAULT_MAX_CLIENTS", "ClientLimit", "ClientLimiter"]

DEFAULT_MAX_CLIENTS = 65536


@dataclass(frozen=True, slots=True)
class ClientLimit:
    """Each client address may send ``limit.rate`` requests a second, ``limit.burst`` at once."""

    limit: ThrottleLimit
    max_clients: int = DEFAULT_MAX_CLIENTS

    def __post_init__(self) -> None:
        if self.max_clients < 1:
            raise ThrottleConfigError(
                f"a client limit must track at least one client (got {self.max_clients})",
                hint=f"the default is {DEFAULT_MAX_CLIENTS}",
            )

    @classmethod
    def parse(cls, text: str, max_clients: int = DEFAULT_MAX_CLIENTS) -> ClientLimit:
        """``"RATE"`` or ``"RATE:BURST"``, as :meth:`ThrottleLimit.parse`."""
        return cls(ThrottleLimit.parse(text), max_clients)


class ClientLimiter:
    """The buckets of the clients seen most recently (at most ``max_clients``)."""

    __slots__ = ("_buckets", "_limit", "_max")

    def __init__(self, config: ClientLimit) -> None:
        self._limit = config.limit
        self._max = config.max_clients
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def take(self, client: str, now: float) -> bool:
        """Spend one of ``client``'s tokens; False means answer 429."""
        buckets = self._buckets
        bucket = buckets.get(client)
        if bucket is None:
            if len(buckets) >= self._max:
                buckets.popitem(last=False)
            bucket = buckets[client] = TokenBucket(self._limit, now)
        else:
            buckets.move_to_end(client)
        return bucket.take(now)

    def __len__(self) -> int:
        return len(self._buckets)
