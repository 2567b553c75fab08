from decimal import Decimal

import pytest

from overcast.observe.errors import InvalidPriceError
from overcast.observe.pricing import (
    GatewayKind,
    PriceBook,
    PriceTable,
    billed_ms,
    price_invocation,
)


def test_duration_rounds_up_to_the_next_whole_millisecond() -> None:
    assert billed_ms(1.2) == 2
    assert billed_ms(3000) == 3000
    assert billed_ms(3000.0001) == 3001
    assert billed_ms(0) == 1


def test_1_2ms_at_128mb_through_http_api_costs_hand_computed_amount() -> None:
    cost = price_invocation(1.2, 128, gateway=GatewayKind.HTTP_API)
    # 2 ms x 0.125 GB = 0.00025 GB-s; x 0.0000166667 = 0.000000004166675
    assert cost.billed_ms == 2
    assert cost.gb_seconds == Decimal("0.00025")
    assert cost.compute == Decimal("0.000000004166675")
    assert cost.request == Decimal("0.0000002")
    assert cost.gateway == Decimal("0.000001")
    assert cost.total == Decimal("0.000001204166675")


def test_3000ms_at_1769mb_through_rest_api_costs_hand_computed_amount() -> None:
    cost = price_invocation(3000, 1769, gateway=GatewayKind.REST_API)
    # 3 s x 1769/1024 GB = 5.1826171875 GB-s; x 0.0000166667 = 0.00008637712587890625
    assert cost.gb_seconds == Decimal("5.1826171875")
    assert cost.compute == Decimal("0.00008637712587890625")
    assert cost.gateway == Decimal("0.0000035")
    assert cost.total == Decimal("0.00009007712587890625")


def test_direct_invoke_pays_no_gateway_price() -> None:
    assert price_invocation(10, 128).gateway == 0


def test_rest_api_request_costs_more_than_http_api_request() -> None:
    rest = price_invocation(1, 128, gateway=GatewayKind.REST_API).total
    http = price_invocation(1, 128, gateway=GatewayKind.HTTP_API).total
    assert rest - http == Decimal("0.0000025")


def test_function_override_beats_stage_override_beats_default() -> None:
    cheap = PriceTable(per_gb_second=Decimal(0))
    free = PriceTable(per_gb_second=Decimal(0), per_request=Decimal(0))
    book = PriceBook(per_stage={"dev": cheap}, per_function={"dev/api": free})
    assert book.table_for("dev", "api") is free
    assert book.table_for("dev", "worker") is cheap
    assert book.table_for("prod", "api") == PriceTable()


def test_price_book_is_not_changed_by_editing_the_callers_dict() -> None:
    stages = {"dev": PriceTable(per_request=Decimal(0))}
    book = PriceBook(per_stage=stages)
    stages["prod"] = PriceTable(per_request=Decimal(0))
    assert book.table_for("prod", "f") == PriceTable()


@pytest.mark.parametrize("bad", [Decimal(-1), Decimal("NaN")])
def test_negative_or_nan_price_is_refused(bad: Decimal) -> None:
    with pytest.raises(InvalidPriceError):
        PriceTable(per_request=bad)


def test_zero_memory_is_refused() -> None:
    with pytest.raises(InvalidPriceError):
        price_invocation(1, 0)
