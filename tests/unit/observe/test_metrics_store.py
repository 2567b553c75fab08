"""The SQLite metrics store: additive writes, three resolutions, retention, queries."""

from decimal import Decimal
from pathlib import Path

import pytest

from overcast.observe.aggregate import Aggregator, PeriodRollup, SeriesKey, Totals
from overcast.observe.metrics_store import MetricsStore, resolution_for

DAY = 86_400
HELLO = SeriesKey("hello", "1", "prod")
HELLO_V2 = SeriesKey("hello", "2", "prod")
OTHER = SeriesKey("other", "1", "prod")
DEV = SeriesKey("hello", "1", "dev")
T0 = 1_700_000_000 - 1_700_000_000 % DAY  # midnight UTC


def _rollup(key: SeriesKey, start: int, invocations: int = 1, cost: str = "0.001") -> PeriodRollup:
    buckets = [0] * 17
    buckets[3] = invocations
    totals = Totals(
        invocations=invocations,
        duration_ms=4.0 * invocations,
        max_memory_mb=30 + invocations,
        buckets=tuple(buckets),
        billed_ms=5 * invocations,
        cost=Decimal(cost),
    )
    return PeriodRollup(key, start, 60, totals)


@pytest.fixture
def store(tmp_path: Path) -> MetricsStore:
    opened = MetricsStore(tmp_path / "metrics.sqlite3")
    yield opened
    opened.close()


def test_one_write_lands_in_every_resolution(store: MetricsStore) -> None:
    store.write([_rollup(HELLO, T0 + 60), _rollup(HELLO, T0 + 3_660)])
    assert store.row_count() == {60: 2, 3_600: 2, 86_400: 1}


def test_writes_to_the_same_period_add_up(store: MetricsStore) -> None:
    store.write([_rollup(HELLO, T0, 2, "0.0000012020833375")])
    store.write([_rollup(HELLO, T0, 3, "0.0000000000000001")])
    [point] = store.series("hello", since=T0, until=T0 + 60, seconds=60)
    assert point.totals.invocations == 5
    assert point.totals.billed_ms == 25
    assert point.totals.max_memory_mb == 33
    assert point.totals.buckets[3] == 5
    assert point.totals.cost == Decimal("0.0000012020833376")  # exact, not a float sum


def test_series_merges_versions_and_picks_the_resolution(store: MetricsStore) -> None:
    store.write(
        [_rollup(HELLO, T0), _rollup(HELLO_V2, T0), _rollup(HELLO, T0 + 120), _rollup(OTHER, T0)]
    )
    now = T0 + 600
    minutes = store.series("hello", since=now - 3_600, until=now)
    assert [(p.start, p.seconds, p.totals.invocations) for p in minutes] == [
        (T0, 60, 2),
        (T0 + 120, 60, 1),
    ]
    hours = store.series("hello", since=now - 3_600, until=now, seconds=3_600)
    assert [(p.start, p.totals.invocations) for p in hours] == [(T0, 3)]


def test_totals_by_function_per_stage(store: MetricsStore) -> None:
    store.write(
        [_rollup(HELLO, T0, 2), _rollup(HELLO_V2, T0, 1), _rollup(OTHER, T0), _rollup(DEV, T0)]
    )
    now = T0 + 3_600
    everything = store.totals_by_function(since=now - 30 * DAY, until=now)
    assert {k: v.invocations for k, v in everything.items()} == {
        ("dev", "hello"): 1,
        ("prod", "hello"): 3,
        ("prod", "other"): 1,
    }
    prod = store.totals_by_function(since=now - 30 * DAY, until=now, stage="prod")
    assert prod["prod", "hello"].cost == Decimal("0.002")  # two rollups of $0.001
    assert ("dev", "hello") not in prod


def test_prune_keeps_each_resolution_for_its_retention(store: MetricsStore) -> None:
    store.write([_rollup(HELLO, T0)])
    # a day and a bit later: the minute is gone, the hour and the day stay
    store.prune(T0 + DAY + 120)
    assert store.row_count() == {3_600: 1, 86_400: 1}
    # 36 days later the hour is gone too
    store.prune(T0 + 36 * DAY)
    assert store.row_count() == {86_400: 1}
    # the day stays for two years
    store.prune(T0 + 700 * DAY)
    assert store.row_count() == {86_400: 1}
    store.prune(T0 + 733 * DAY)
    assert store.row_count() == {}


def test_a_month_of_traffic_stays_small(store: MetricsStore) -> None:
    # one invocation every minute for 31 days, flushed hourly, pruned as it goes
    aggregator = Aggregator()
    for hour in range(31 * 24):
        base = T0 + hour * 3_600
        for minute in range(60):
            aggregator.record(HELLO, at=base + minute * 60 + 1, duration_ms=3, billed_ms=3)
        store.write(aggregator.drain(base + 3_600))
        store.prune(base + 3_600)
    counts = store.row_count()
    assert counts[60] == 24 * 60  # one day of minutes
    assert counts[3_600] == 31 * 24  # every hour of the month
    assert counts[86_400] == 31
    now = T0 + 31 * DAY
    month = store.totals_by_function(since=now - 30 * DAY, until=now)
    assert month["prod", "hello"].invocations == 30 * 24 * 60


def test_resolution_for_picks_the_finest_still_kept() -> None:
    now = T0 + 100 * DAY
    assert resolution_for(now - 3_600, now).seconds == 60
    assert resolution_for(now - 7 * DAY, now).seconds == 3_600
    assert resolution_for(now - 30 * DAY, now).seconds == 3_600
    assert resolution_for(now - 90 * DAY, now).seconds == 86_400


def test_reopening_keeps_the_data(tmp_path: Path) -> None:
    first = MetricsStore(tmp_path / "m.sqlite3")
    first.write([_rollup(HELLO, T0)])
    first.close()
    again = MetricsStore(tmp_path / "m.sqlite3")
    try:
        assert again.series("hello", since=T0, until=T0 + 60)[0].totals.invocations == 1
    finally:
        again.close()
