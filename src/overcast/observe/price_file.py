"""Price tables from a TOML file: the defaults overridden per stage and per function.

```toml
[default]                      # any field left out keeps AWS's published price
per_gb_second = "0.0000133334" # e.g. arm64's price

[stages.dev]
per_gb_second = "0"            # dev runs on the house

[functions."prod/Thumbnailer"] # "stage/function", or a bare "function" for every stage
per_gb_second = "0.0000200000"
```

Prices are strings (decimal text) so no binary float rounding sneaks in; a stage or
function table starts from ``[default]``. ``overcast serve --prices FILE`` and the
``OVERCAST_PRICES`` environment variable (also for ``overcast up``) load one.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import fields, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from overcast.observe.errors import ObserveError
from overcast.observe.pricing import DEFAULT_PRICES, PriceBook, PriceTable

__all__ = ["load_price_book", "price_book_from_mapping"]

_FIELDS = frozenset(f.name for f in fields(PriceTable))


def _table(base: PriceTable, raw: object, where: str) -> PriceTable:
    if not isinstance(raw, Mapping):
        raise ObserveError(f"{where} must be a table of prices")
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise ObserveError(
            f"{where}: unknown price(s) {unknown}", hint=f"known: {', '.join(sorted(_FIELDS))}"
        )
    values: dict[str, Decimal] = {}
    for name, text in raw.items():
        if not isinstance(text, str | int):
            raise ObserveError(f'{where}.{name} must be a decimal string, e.g. "0.0000166667"')
        try:
            values[name] = Decimal(str(text))
        except InvalidOperation:
            raise ObserveError(f"{where}.{name}: {text!r} is not a number") from None
    return replace(base, **values)  # PriceTable checks each value


def price_book_from_mapping(data: Mapping[str, Any]) -> PriceBook:
    """Build a :class:`PriceBook` from the parsed TOML document."""
    unknown = sorted(set(data) - {"default", "stages", "functions"})
    if unknown:
        raise ObserveError(f"prices: unknown section(s) {unknown}; use default, stages, functions")
    default = _table(DEFAULT_PRICES, data.get("default", {}), "default")
    stages_raw = data.get("stages", {})
    functions_raw = data.get("functions", {})
    if not isinstance(stages_raw, Mapping) or not isinstance(functions_raw, Mapping):
        raise ObserveError("prices: [stages.NAME] and [functions.NAME] must be tables")
    return PriceBook(
        default=default,
        per_stage={k: _table(default, v, f"stages.{k}") for k, v in stages_raw.items()},
        per_function={k: _table(default, v, f"functions.{k}") for k, v in functions_raw.items()},
    )


def load_price_book(path: Path) -> PriceBook:
    """Read a price file (see the module docstring for its shape)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ObserveError(f"no price file at {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ObserveError(f"{path}: {exc}") from exc
    try:
        return price_book_from_mapping(data)
    except ObserveError as exc:
        raise ObserveError(f"{path}: {exc.message}", hint=exc.hint) from exc
