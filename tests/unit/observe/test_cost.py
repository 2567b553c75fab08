"""Invocation cost: hand-computed cases, billed-duration rounding, and the fast path."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from overcast.observe.errors import InvalidPriceError
from overcast.observe.pricing import (
    GatewayKind,
    PriceTable,
    billed_ms,
    price_invocation,
    unit_price,
)
from overcast.runtime.log_format import billed_duration_ms, report_line


def test_128_mb_for_one_ms_through_an_http_api_by_hand() -> None:
    # 1 ms x 0.125 GB = 0.000125 GB-s; x $0.0000166667 = $0.0000000020833375;
    # + $0.20/M = $0.0000002 (Lambda request) + $1.00/M = $0.000001 (HTTP API request).
    unit = unit_price(128, gateway=GatewayKind.HTTP_API)
    assert unit.total(1) == Decimal("0.0000012020833375")


def test_a_rest_api_request_costs_its_own_price() -> None:
    unit = unit_price(1024, gateway=GatewayKind.REST_API)
    # 100 ms x 1 GB = 0.1 GB-s -> $0.00000166667, + $0.0000002 + $0.0000035.
    assert unit.total(100) == Decimal("0.00000536667")


def test_a_direct_invoke_pays_no_gateway() -> None:
    assert unit_price(512).total(1000) == Decimal("0.0000083333500") + Decimal("0.0000002")


def test_billed_duration_rounds_up_to_the_next_millisecond() -> None:
    assert billed_ms(1.0) == 1
    assert billed_ms(1.0001) == 2
    assert billed_ms(0.01) == 1  # never less than 1 ms
    assert billed_duration_ms(99.2) == 100
    # a cold start bills Init + Duration, rounded once
    assert billed_duration_ms(0.4, init_duration_ms=120.3) == 121


def test_the_report_lines_billed_duration_is_what_is_priced() -> None:
    # 2.5 ms rounds to 3 ms: three milliseconds of 128 MB, not 2.5
    billed = billed_duration_ms(2.5)
    assert billed == 3
    assert unit_price(128).total(billed) == price_invocation(3, 128).total
    exact_share = Decimal("2.5") * Decimal("0.0000000020833375") + Decimal("0.0000002")
    assert unit_price(128).total(billed) > exact_share


def test_prices_can_be_overridden() -> None:
    table = PriceTable(per_gb_second=Decimal("0.00001"), per_request=Decimal(0))
    assert unit_price(1024, prices=table).total(1000) == Decimal("0.00001")


@given(
    ms=st.integers(min_value=1, max_value=900_000),
    memory=st.integers(min_value=128, max_value=10_240),
    gateway=st.sampled_from(list(GatewayKind)),
)
def test_the_fast_path_agrees_with_price_invocation_to_the_last_digit(
    ms: int, memory: int, gateway: GatewayKind
) -> None:
    reference = price_invocation(ms, memory, gateway=gateway).total
    assert unit_price(memory, gateway=gateway).total(ms) == reference


def test_memory_must_be_positive() -> None:
    with pytest.raises(InvalidPriceError):
        unit_price(0)


def test_the_cost_is_the_last_field_of_the_report_line_with_ten_decimals() -> None:
    line = report_line("id", 0.23, 128, 21, 1.54, cost_usd=Decimal("0.0000012041666750"))
    assert line == (
        "REPORT RequestId: id\tDuration: 0.23 ms\tBilled Duration: 2 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 21 MB\tInit Duration: 1.54 ms\t"
        "Cost: 0.0000012042 USD\t"
    )
    assert "Cost" not in report_line("id", 0.23, 128, 21)
