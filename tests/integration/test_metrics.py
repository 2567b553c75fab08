"""Metrics and cost end to end: `overcast up examples/hello`, invocations, `/metrics`,
the REPORT lines' cost, and `overcast metrics` / `overcast cost` after the node stops."""

from __future__ import annotations

import re
import shutil
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

FUNCTION = "HelloWorldFunction"
INVOCATIONS = 7
_COST = re.compile(r"\tCost: (\d+\.\d{10}) USD\t")


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and sorted labels (a real Prometheus parse)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


def _series(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def test_invocations_show_in_metrics_reports_and_the_cli(running_app) -> None:
    app = running_app("hello")
    with app.client() as client:
        for i in range(INVOCATIONS):
            assert client.get(f"/hello/n{i}").status_code == 200
        assert client.get("/no-such-route").status_code == 404
    # Open like /health: a Prometheus scraper cannot sign requests.
    scrape = httpx.get(f"{app.admin_url}/metrics", timeout=30)
    assert scrape.status_code == 200
    assert scrape.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = _samples(scrape.text)
    fn = _series(function=FUNCTION, version="$LATEST", stage="local")
    assert samples["overcast_invocations_total", fn] == INVOCATIONS
    assert samples["overcast_errors_total", fn] == 0
    assert samples["overcast_throttles_total", fn] == 0
    assert samples["overcast_cold_starts_total", fn] == 1
    assert samples["overcast_duration_seconds_count", fn] == INVOCATIONS
    assert samples["overcast_max_memory_used_megabytes", fn] > 0
    route = _series(stage="local", api="ServerlessHttpApi", route="GET /hello/{name}")
    assert samples["overcast_api_requests_total", route] == INVOCATIONS
    assert samples["overcast_api_5xx_errors_total", route] == 0
    unmatched = _series(stage="local", api="", route="$unmatched")
    assert samples["overcast_api_4xx_errors_total", unmatched] == 1
    # Nothing runs between requests: the instance is warm and idle.
    busy = _series(stage="local", function=FUNCTION)
    assert samples["overcast_concurrent_executions", busy] == 0

    # Every REPORT line ends with its cost; together they are the metric's cost.
    logs = app.cli("logs", FUNCTION)
    assert logs.returncode == 0, logs.stderr
    reports = [line for line in logs.stdout.decode().splitlines() if "REPORT RequestId:" in line]
    costs = [Decimal(m.group(1)) for line in reports if (m := _COST.search(line + "\t"))]
    assert len(costs) == INVOCATIONS, reports
    assert all(c > Decimal("0.0000012") for c in costs)  # Lambda + HTTP API request prices
    # Each line rounds its cost to 10 decimal places (half a unit of error at most).
    assert float(sum(costs)) == pytest.approx(
        samples["overcast_cost_usd_total", fn], abs=INVOCATIONS * 0.5e-10
    )

    assert app.stop() == 0  # the last flush happens on the way out
    shown = app.cli("metrics", FUNCTION, "--since", "1h")
    assert shown.returncode == 0, shown.stderr
    rows = [line for line in shown.stdout.decode().splitlines() if re.search(r"\d\d:\d\d", line)]
    assert sum(int(_cells(row)[1]) for row in rows) == INVOCATIONS, shown.stdout
    assert sum(int(_cells(row)[6]) for row in rows) == 1  # one cold start

    spend = app.cli("cost", "--since", "30d", "--stage", "local")
    assert spend.returncode == 0, spend.stderr
    text = spend.stdout.decode()
    row = next(_cells(line) for line in text.splitlines() if FUNCTION in line)
    assert row[:3] == ["local", FUNCTION, str(INVOCATIONS)]
    assert "month-end forecast:" in text


def test_metrics_off_records_nothing(running_app) -> None:
    app = running_app("hello", env={"OVERCAST_METRICS": "off"})
    with app.client() as client:
        assert client.get("/hello").status_code == 200
    assert httpx.get(f"{app.admin_url}/metrics", timeout=30).status_code == 404
    logs = app.cli("logs", FUNCTION).stdout.decode()
    assert "REPORT RequestId:" in logs
    assert "Cost:" not in logs
    assert app.stop() == 0
    assert not (app.state_dir / "metrics.sqlite3").exists()
    shown = app.cli("metrics", FUNCTION)
    assert shown.returncode == 1
    assert b"no metrics recorded yet" in shown.stderr


def _cells(line: str) -> list[str]:
    """The cells of a rich table row (its box-drawing separators dropped)."""
    return [cell.strip() for cell in re.split(r"[│┃|]", line) if cell.strip()]


def test_a_platform_labels_metrics_with_the_stage_and_version(
    overcast_platform, tmp_path: Path
) -> None:
    app = tmp_path / "hello"
    shutil.copytree(EXAMPLES / "hello", app, ignore=shutil.ignore_patterns(".overcast"))
    overcast_platform.deploy(app, "dev")
    for _ in range(3):
        assert overcast_platform.get("dev", "/hello").status_code == 200
    scrape = httpx.get(f"{overcast_platform.admin_url}/metrics", timeout=30)
    assert scrape.status_code == 200
    samples = _samples(scrape.text)
    fn = _series(function=FUNCTION, version="1", stage="dev")
    assert samples["overcast_invocations_total", fn] == 3
    route = _series(stage="dev", api="ServerlessHttpApi", route="GET /hello")
    assert samples["overcast_api_requests_total", route] == 3

    assert overcast_platform.stop() in (0, 130)
    state = str(overcast_platform.state_dir)
    shown = overcast_platform.cli_plain("metrics", FUNCTION, "--platform", state, "--stage", "dev")
    assert shown.returncode == 0, shown.stderr
    rows = [line for line in shown.stdout.decode().splitlines() if re.search(r"\d\d:\d\d", line)]
    assert sum(int(_cells(row)[1]) for row in rows) == 3
    spend = overcast_platform.cli_plain("cost", "--platform", state, "--stage", "prod")
    assert spend.returncode == 0, spend.stderr
    assert FUNCTION not in spend.stdout.decode()  # nothing ran on prod
