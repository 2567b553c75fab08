from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from overcast.observe.aggregate import (
    Aggregator,
    AggregatorCollector,
    SeriesKey,
    Totals,
    downsample,
    quantile,
)

KEY = SeriesKey("hello", "3", "prod")


def test_totals_count_a_known_invocation_sequence() -> None:
    agg = Aggregator()
    agg.record(KEY, at=1, duration_ms=12, init_duration_ms=250, max_memory_mb=60)
    agg.record(KEY, at=2, duration_ms=3, error=True, max_memory_mb=80)
    agg.record(KEY, at=3, throttled=True)
    t = agg.totals()[KEY]
    assert (t.invocations, t.errors, t.throttles, t.cold_starts) == (2, 1, 1, 1)
    assert t.init_duration_ms == 250
    assert t.duration_ms == 15
    assert t.max_memory_mb == 80
    assert sum(t.buckets) == 2


def test_quantile_interpolates_inside_a_bucket() -> None:
    # 10 samples all in the (50, 100] bucket: the median is half-way through it.
    buckets = [0] * 6 + [10] + [0] * 10
    assert quantile(buckets, 0.5) == 75.0
    assert quantile([0] * 17, 0.5) is None


def test_p99_lands_in_the_slow_bucket() -> None:
    agg = Aggregator()
    for i in range(99):
        agg.record(KEY, at=i % 60, duration_ms=4)
    agg.record(KEY, at=0, duration_ms=700)
    t = agg.totals()[KEY]
    p50 = t.percentile(0.5)
    p99 = t.percentile(0.99)
    assert p50 is not None
    assert 2 < p50 <= 5
    assert p99 is not None
    assert p99 <= 5
    p100 = t.percentile(1.0)
    assert p100 is not None
    assert 500 < p100 <= 1000


def test_drain_returns_only_closed_periods_and_forgets_them() -> None:
    agg = Aggregator()
    agg.record(KEY, at=10, duration_ms=1)
    agg.record(KEY, at=70, duration_ms=1)
    drained = agg.drain(now=90)
    assert [(r.start, r.totals.invocations) for r in drained] == [(0, 1)]
    assert agg.drain(now=90) == []
    assert [r.start for r in agg.drain(now=120)] == [60]
    assert agg.totals()[KEY].invocations == 2


def test_downsample_merges_minutes_into_hours_then_days() -> None:
    agg = Aggregator()
    for minute in range(0, 180, 7):
        agg.record(KEY, at=minute * 60, duration_ms=10, max_memory_mb=minute)
    minutes = agg.drain(now=10**6)
    hours = downsample(minutes, 3600)
    assert [h.start for h in hours] == [0, 3600, 7200]
    assert sum(h.totals.invocations for h in hours) == len(minutes)
    assert hours[-1].totals.max_memory_mb == 175
    days = downsample(hours, 86400)
    assert len(days) == 1
    assert days[0].totals == Totals().merged(days[0].totals)
    assert days[0].totals.invocations == len(minutes)


def test_collector_exposes_totals_in_prometheus_text() -> None:
    agg = Aggregator()
    agg.record(KEY, at=1, duration_ms=30, error=True, init_duration_ms=100, max_memory_mb=64)
    agg.record(KEY, at=2, duration_ms=3)
    registry = CollectorRegistry()
    registry.register(AggregatorCollector(agg))
    text = generate_latest(registry).decode()
    samples = {
        (s.name, s.labels.get("le")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.labels.get("function") == "hello" and s.labels.get("stage") == "prod"
    }
    assert samples["overcast_invocations_total", None] == 2
    assert samples["overcast_errors_total", None] == 1
    assert samples["overcast_cold_starts_total", None] == 1
    assert samples["overcast_init_duration_seconds_total", None] == 0.1
    assert samples["overcast_max_memory_used_megabytes", None] == 64
    assert samples["overcast_duration_seconds_bucket", "0.005"] == 1
    assert samples["overcast_duration_seconds_bucket", "+Inf"] == 2
    assert samples["overcast_duration_seconds_count", None] == 2
    assert samples["overcast_duration_seconds_sum", None] == 0.033
