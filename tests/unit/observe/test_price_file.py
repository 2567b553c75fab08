"""Price tables from TOML: defaults, per-stage and per-function overrides, clear errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from overcast.observe.errors import ObserveError
from overcast.observe.price_file import load_price_book
from overcast.observe.pricing import DEFAULT_PRICES

PRICES = """
[default]
per_gb_second = "0.0000133334"

[stages.dev]
per_gb_second = "0"
per_request = "0"

[functions."prod/Thumbs"]
per_gb_second = "0.00002"

[functions.Echo]
http_api_per_request = "0.000002"
"""


def test_function_beats_stage_beats_default_and_unset_prices_stay_aws(tmp_path: Path) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(PRICES)
    book = load_price_book(path)
    assert book.table_for("prod", "Other").per_gb_second == Decimal("0.0000133334")
    assert book.table_for("prod", "Other").per_request == DEFAULT_PRICES.per_request
    assert book.table_for("dev", "Other").per_gb_second == Decimal(0)
    assert book.table_for("prod", "Thumbs").per_gb_second == Decimal("0.00002")
    assert book.table_for("qa", "Thumbs").per_gb_second == Decimal("0.0000133334")
    assert book.table_for("qa", "Echo").http_api_per_request == Decimal("0.000002")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[default]\nper_gb_second = "lots"\n', "not a number"),
        ('[default]\nper_gb_second = "-1"\n', "non-negative"),
        ('[default]\nper_cpu = "1"\n', "unknown price"),
        ("[regions.eu]\n", "unknown section"),
        ("[default\n", "prices.toml"),
    ],
)
def test_bad_price_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(text)
    with pytest.raises(ObserveError, match=message):
        load_price_book(path)
