"""Lambda-style cost of one invocation, in exact decimal money.

Cost = billed duration (rounded UP to 1 ms) x configured memory (as GB-seconds) x
price per GB-s, plus Lambda's per-request price, plus the API gateway's per-request
price (HTTP APIs and REST APIs are priced differently; direct invokes pay none).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum
from types import MappingProxyType

from overcast.observe.errors import InvalidPriceError

__all__ = [
    "DEFAULT_PRICES",
    "GatewayKind",
    "InvocationCost",
    "PriceBook",
    "PriceTable",
    "UnitPrice",
    "billed_ms",
    "price_invocation",
    "unit_price",
    "worst_case_cost",
]

_MILLION = Decimal(1_000_000)


class GatewayKind(StrEnum):
    """Which front door an invocation came through; each has its own request price."""

    NONE = "none"
    HTTP_API = "http"
    REST_API = "rest"


# AWS's published on-demand prices, us-east-1, x86, first tier; looked up 2026-11-27:
# - Lambda: $0.0000166667 per GB-second (first 6 billion GB-s/month) and $0.20 per 1M
#   requests; duration "rounded up to the nearest 1 ms".
#   https://aws.amazon.com/lambda/pricing/ and
#   https://docs.aws.amazon.com/whitepapers/latest/how-aws-pricing-works/lambda.html
# - API Gateway: HTTP APIs $1.00 per million (first 300M/month), REST APIs $3.50 per
#   million (first 333M/month). https://aws.amazon.com/api-gateway/pricing/
# Free tiers and volume tiers are deliberately not modelled: a per-invocation price
# must not depend on how much else was spent this month.
@dataclass(frozen=True, slots=True)
class PriceTable:
    """Unit prices in US dollars; override any of them per stage or per function."""

    per_gb_second: Decimal = Decimal("0.0000166667")
    per_request: Decimal = Decimal("0.20") / _MILLION
    http_api_per_request: Decimal = Decimal("1.00") / _MILLION
    rest_api_per_request: Decimal = Decimal("3.50") / _MILLION

    def __post_init__(self) -> None:
        for name in (
            "per_gb_second",
            "per_request",
            "http_api_per_request",
            "rest_api_per_request",
        ):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
                raise InvalidPriceError(
                    f"price {name}={value!r} must be a finite, non-negative Decimal",
                    hint="write prices as strings, e.g. Decimal('0.0000166667')",
                )

    def gateway_per_request(self, gateway: GatewayKind) -> Decimal:
        """The gateway's price for one request through ``gateway``."""
        if gateway is GatewayKind.HTTP_API:
            return self.http_api_per_request
        if gateway is GatewayKind.REST_API:
            return self.rest_api_per_request
        return Decimal(0)


DEFAULT_PRICES = PriceTable()


@dataclass(frozen=True, slots=True)
class InvocationCost:
    """The priced parts of one invocation; ``total`` is their exact sum."""

    billed_ms: int
    memory_mb: int
    gb_seconds: Decimal
    compute: Decimal
    request: Decimal
    gateway: Decimal

    @property
    def total(self) -> Decimal:
        """Compute plus Lambda request plus gateway request, unrounded."""
        return self.compute + self.request + self.gateway


def billed_ms(duration_ms: float | Decimal) -> int:
    """Duration rounded up to a whole millisecond, as Lambda bills it (at least 1 ms)."""
    # Via str() so 1.2 stays 1.2 rather than 1.19999999999999995559.
    exact = duration_ms if isinstance(duration_ms, Decimal) else Decimal(str(duration_ms))
    if not exact.is_finite() or exact < 0:
        raise InvalidPriceError(f"duration {duration_ms!r} ms cannot be billed")
    return max(1, int(exact.to_integral_value(rounding=ROUND_CEILING)))


def price_invocation(
    duration_ms: float | Decimal,
    memory_mb: int,
    *,
    gateway: GatewayKind = GatewayKind.NONE,
    prices: PriceTable = DEFAULT_PRICES,
) -> InvocationCost:
    """Price one invocation of ``duration_ms`` with ``memory_mb`` configured memory."""
    if memory_mb <= 0:
        raise InvalidPriceError(f"memory {memory_mb} MB must be positive")
    ms = billed_ms(duration_ms)
    gb_seconds = Decimal(ms) / 1000 * Decimal(memory_mb) / 1024
    return InvocationCost(
        billed_ms=ms,
        memory_mb=memory_mb,
        gb_seconds=gb_seconds,
        compute=gb_seconds * prices.per_gb_second,
        request=prices.per_request,
        gateway=prices.gateway_per_request(gateway),
    )


@dataclass(frozen=True, slots=True)
class UnitPrice:
    """An invocation's price as a linear function of its billed milliseconds.

    Built once per (memory size, gateway, price table) so that pricing an invocation
    on the data path is one multiplication and two additions; :func:`price_invocation`
    is the reference it must agree with to the last digit.
    """

    per_ms: Decimal
    request: Decimal
    gateway: Decimal

    def total(self, billed: int) -> Decimal:
        """The price of an invocation billed ``billed`` ms (already rounded up)."""
        return self.per_ms * billed + self.request + self.gateway


def unit_price(
    memory_mb: int,
    *,
    gateway: GatewayKind = GatewayKind.NONE,
    prices: PriceTable = DEFAULT_PRICES,
) -> UnitPrice:
    """The :class:`UnitPrice` of invocations with ``memory_mb`` configured memory."""
    if memory_mb <= 0:
        raise InvalidPriceError(f"memory {memory_mb} MB must be positive")
    # GB-s per billed ms is memory / 1024 / 1000; both divisions are exact in decimal.
    return UnitPrice(
        per_ms=prices.per_gb_second * Decimal(memory_mb) / 1024 / 1000,
        request=prices.per_request,
        gateway=prices.gateway_per_request(gateway),
    )


def _frozen(mapping: Mapping[str, PriceTable] | None) -> Mapping[str, PriceTable]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, slots=True)
class PriceBook:
    """Which :class:`PriceTable` applies where: function beats stage beats default.

    ``per_function`` keys are ``"stage/function"`` or a bare ``"function"`` (any stage).
    """

    default: PriceTable = DEFAULT_PRICES
    per_stage: Mapping[str, PriceTable] = field(default_factory=dict)
    per_function: Mapping[str, PriceTable] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Frozen means frozen: callers' dicts are copied so later edits don't leak in.
        object.__setattr__(self, "per_stage", _frozen(self.per_stage))
        object.__setattr__(self, "per_function", _frozen(self.per_function))

    def table_for(self, stage: str, function: str) -> PriceTable:
        """The most specific table for ``function`` on ``stage``."""
        for key in (f"{stage}/{function}", function):
            if key in self.per_function:
                return self.per_function[key]
        return self.per_stage.get(stage, self.default)


def worst_case_cost(
    functions: Iterable[tuple[str, int, float]],
    *,
    stage: str,
    gateway: GatewayKind,
    prices: PriceBook,
    invocations_per_request: int = 1,
) -> Decimal:
    """The most one request can cost: the dearest function run for its whole Timeout.

    ``functions`` are (name, memory MB, timeout s). ``invocations_per_request`` is 2
    when a Lambda authorizer may run before the function.
    """
    worst = Decimal(0)
    for name, memory_mb, timeout_s in functions:
        table = prices.table_for(stage, name)
        unit = unit_price(memory_mb, gateway=gateway, prices=table)
        cost = unit.total(billed_ms(Decimal(str(timeout_s)) * 1000))
        worst = max(worst, cost)
    return worst * invocations_per_request
