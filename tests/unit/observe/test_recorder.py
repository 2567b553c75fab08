"""The recorder: invocation reports → counts, histogram, cost; route requests; exposition."""

from decimal import Decimal

from prometheus_client.parser import text_string_to_metric_families

from overcast.invoke import InvocationReport
from overcast.observe.aggregate import SeriesKey
from overcast.observe.pricing import PriceBook, PriceTable
from overcast.observe.recorder import Metrics

LAMBDA_REQUEST = Decimal("0.0000002")
HTTP_REQUEST = Decimal("0.000001")
PER_MS_128 = Decimal("0.0000000020833375")


def _report(**fields: object) -> InvocationReport:
    base: dict[str, object] = {
        "function_name": "hello",
        "version": "$LATEST",
        "stage": "local",
        "duration_ms": 1.0,
        "billed_ms": 1,
        "memory_mb": 128,
    }
    base.update(fields)
    return InvocationReport(**base)  # type: ignore[arg-type]


def _samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_a_known_sequence_gives_known_totals_and_cost() -> None:
    metrics = Metrics(clock=lambda: 1_000.0)
    costs = [
        # cold start through the HTTP API: billed 121 ms (Init + Duration)
        metrics.record_invocation(
            _report(duration_ms=0.4, billed_ms=121, init_duration_ms=120.3, api_kind="http")
        ),
        # warm, through the API
        metrics.record_invocation(_report(duration_ms=2.2, billed_ms=3, api_kind="http")),
        # a function error, invoked directly (no API price)
        metrics.record_invocation(_report(duration_ms=7.0, billed_ms=7, error=True)),
        # a timeout
        metrics.record_invocation(
            _report(duration_ms=3000.5, billed_ms=3001, error=True, timed_out=True)
        ),
        # throttled through the API: no Lambda charge, the API's request price only
        metrics.record_invocation(
            _report(duration_ms=0, billed_ms=0, throttled=True, api_kind="http")
        ),
    ]
    assert costs == [
        PER_MS_128 * 121 + LAMBDA_REQUEST + HTTP_REQUEST,
        PER_MS_128 * 3 + LAMBDA_REQUEST + HTTP_REQUEST,
        PER_MS_128 * 7 + LAMBDA_REQUEST,
        PER_MS_128 * 3001 + LAMBDA_REQUEST,
        HTTP_REQUEST,
    ]
    totals = metrics.aggregator.totals()[SeriesKey("hello", "$LATEST", "local")]
    assert (totals.invocations, totals.errors, totals.throttles, totals.cold_starts) == (4, 2, 1, 1)
    assert totals.billed_ms == 121 + 3 + 7 + 3001
    assert totals.cost == sum(costs)
    assert totals.init_duration_ms == 120.3
    assert totals.duration_ms == 0.4 + 2.2 + 7.0 + 3000.5
    assert sum(totals.buckets) == 4


def test_versions_and_stages_are_separate_series() -> None:
    metrics = Metrics()
    metrics.record_invocation(_report(version="1", stage="prod"))
    metrics.record_invocation(_report(version="2", stage="prod"))
    metrics.record_invocation(_report(version="2", stage="dev"))
    assert sorted(metrics.aggregator.totals()) == [
        SeriesKey("hello", "1", "prod"),
        SeriesKey("hello", "2", "dev"),
        SeriesKey("hello", "2", "prod"),
    ]


def test_a_stage_or_function_price_table_is_used() -> None:
    free = PriceTable(per_gb_second=Decimal(0), per_request=Decimal(0))
    metrics = Metrics(PriceBook(per_stage={"dev": free}))
    assert metrics.record_invocation(_report(stage="dev", billed_ms=500)) == Decimal(0)
    assert (
        metrics.record_invocation(_report(stage="prod", billed_ms=1)) == PER_MS_128 + LAMBDA_REQUEST
    )


def test_route_requests_are_counted_by_status_class() -> None:
    metrics = Metrics()
    routes = metrics.route_recorder("prod")
    assert metrics.route_recorder("prod") is routes
    for status in (200, 200, 404, 429, 502):
        routes.record_request("Api", "GET /hello", status, 3.0)
    samples = _samples(metrics)
    labels = (("api", "Api"), ("route", "GET /hello"), ("stage", "prod"))
    assert samples["overcast_api_requests_total", labels] == 5
    assert samples["overcast_api_4xx_errors_total", labels] == 2
    assert samples["overcast_api_5xx_errors_total", labels] == 1
    assert samples["overcast_api_latency_seconds_count", labels] == 5
    assert samples["overcast_api_latency_seconds_sum", labels] == 0.015


def test_exposition_parses_and_carries_cost_and_billed_duration() -> None:
    metrics = Metrics()
    metrics.record_invocation(_report(billed_ms=250, duration_ms=249.1))
    samples = _samples(metrics)
    labels = (("function", "hello"), ("stage", "local"), ("version", "$LATEST"))
    assert samples["overcast_invocations_total", labels] == 1
    assert samples["overcast_billed_duration_seconds_total", labels] == 0.25
    assert samples["overcast_cost_usd_total", labels] == float(PER_MS_128 * 250 + LAMBDA_REQUEST)
    assert (
        samples["overcast_duration_seconds_bucket", (*labels[:1], ("le", "0.25"), *labels[1:])] == 1
    )
