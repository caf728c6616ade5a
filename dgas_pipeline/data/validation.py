"""Bars are checked once, between any provider and any analysis.

Drummond Geometry reads highs, lows and closes bar by bar; one inverted bar or one bar off the
session grid silently shifts every PLdot after it. A provider's bars are therefore accepted
only when they are finite, positive, OHLC-consistent, strictly increasing and exactly on the
session grid of the interval; otherwise the fetcher fails over to the next provider and the
error names the symbol, the bar and the value so a person can look at the source.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from dgas_pipeline.data.grid import range_grid
from dgas_pipeline.data.provider import PRICE_COLUMNS, RAW_COLUMNS, VALUE_COLUMNS
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market import MarketHoursManager, format_interval, parse_interval

_UTC_NS = pd.DatetimeTZDtype("ns", "UTC")


class InvalidBars(InvalidInput):
    """A provider's bars for one symbol cannot be used: `SYMBOL: field at ts: value expected`."""

    def __init__(
        self,
        symbol: str,
        field: str,
        value: Any,
        expected: str,
        ts: pd.Timestamp | None = None,
    ) -> None:
        self.symbol = symbol
        self.ts = ts
        value = _plain(value)
        super().__init__(field, value, expected)
        where = f" at {ts.isoformat()}" if ts is not None else ""
        self.args = (f"{symbol}: {field}{where}: {value!r} {expected}",)


def validate_bars(
    frame: pd.DataFrame | None,
    symbol: str,
    market: MarketHoursManager,
    interval: timedelta | str,
) -> pd.DataFrame:
    """The bars in the raw contract (float64, ts UTC ns, index 0..n-1), or InvalidBars."""
    step = parse_interval(interval)
    if frame is None or len(frame) == 0:
        raise InvalidBars(symbol, "bars", 0, "bars in the window (expected at least one)")
    missing = [c for c in RAW_COLUMNS if c != "symbol" and c not in frame.columns]
    if missing:
        raise InvalidBars(
            symbol,
            "columns",
            [str(c) for c in frame.columns],
            f"lack {', '.join(missing)} (expected {', '.join(RAW_COLUMNS[1:])})",
        )
    if "symbol" in frame.columns:
        other = frame["symbol"][frame["symbol"] != symbol]
        if len(other):
            raise InvalidBars(symbol, "symbol", other.iloc[0], "is not the requested symbol")

    ts = _utc_ns(frame["ts"], symbol).reset_index(drop=True)
    values = {c: _floats(frame[c], c, symbol, ts) for c in VALUE_COLUMNS}
    _check_values(values, symbol, ts)
    ns = ts.to_numpy(dtype="datetime64[ns]").view(np.int64)
    _check_order(ns, ts, symbol)
    _check_grid(ns, ts, symbol, market, step)
    return pd.DataFrame({"symbol": symbol, "ts": ts, **values})


# -- the checks, in the order a person would fix them ---------------------------------------


def _utc_ns(column: pd.Series, symbol: str) -> pd.Series:
    if column.dtype == _UTC_NS:
        utc = column
    elif isinstance(column.dtype, pd.DatetimeTZDtype):
        utc = column.dt.tz_convert("UTC").dt.as_unit("ns")
    elif pd.api.types.is_datetime64_dtype(column.dtype):
        raise InvalidBars(symbol, "ts", column.iloc[0], "is a naive time (expected tz-aware UTC)")
    else:
        raise InvalidBars(
            symbol, "ts", column.iloc[0], "is not a timestamp (expected tz-aware UTC)"
        )
    missing = utc.isna().to_numpy()
    if missing.any():
        raise InvalidBars(symbol, "ts", "NaT", f"in row {_first(missing)} (expected a time)")
    return utc


def _floats(column: pd.Series, name: str, symbol: str, ts: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    numbers = pd.to_numeric(column, errors="coerce")
    bad = (numbers.isna() & column.notna()).to_numpy()
    if bad.any():
        i = _first(bad)
        raise InvalidBars(symbol, name, column.iloc[i], "is not a number", ts.iloc[i])
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


def _check_values(values: dict[str, np.ndarray], symbol: str, ts: pd.Series) -> None:
    for name, column in values.items():
        _fail_at(~np.isfinite(column), symbol, name, column, "is not a finite number", ts)
    for name in PRICE_COLUMNS:
        column = values[name]
        _fail_at(column <= 0, symbol, name, column, "is not positive (expected a price > 0)", ts)
    o, h, lo, c = (values[name] for name in PRICE_COLUMNS)
    top, bottom = np.maximum(o, c), np.minimum(o, c)
    _fail_at(h < lo, symbol, "high", h, "is below low {0}", ts, lo)
    _fail_at(h < top, symbol, "high", h, "is below max(open, close) {0}", ts, top)
    _fail_at(lo > bottom, symbol, "low", lo, "is above min(open, close) {0}", ts, bottom)
    volume = values["volume"]
    _fail_at(volume < 0, symbol, "volume", volume, "is negative (expected >= 0)", ts)


def _check_order(ns: np.ndarray, ts: pd.Series, symbol: str) -> None:
    not_later = np.flatnonzero(ns[1:] <= ns[:-1])
    if len(not_later):
        i = int(not_later[0]) + 1
        if ns[i] in ns[:i]:
            raise InvalidBars(
                symbol, "ts", ts.iloc[i], "appears twice (expected one bar per start)"
            )
        raise InvalidBars(
            symbol,
            "ts",
            ts.iloc[i],
            f"is not after the bar before it ({ts.iloc[i - 1].isoformat()})",
        )


def _check_grid(
    ns: np.ndarray, ts: pd.Series, symbol: str, market: MarketHoursManager, step: timedelta
) -> None:
    # Bars are increasing by now: the first and last bound the sessions to look at.
    first = market.local(ts.iloc[0].to_pydatetime()).date()
    last = market.local(ts.iloc[-1].to_pydatetime()).date()
    if first < market.first_day or last > market.last_day:
        after_end = pd.Timestamp(market.last_day + timedelta(days=1), tz=market.tz).value
        i = 0 if first < market.first_day else int(np.searchsorted(ns, after_end))
        raise InvalidBars(
            symbol,
            "ts",
            ts.iloc[i],
            f"is outside the {market.exchange} calendar "
            f"({market.first_day.isoformat()} to {market.last_day.isoformat()})",
        )
    grid = range_grid(market, first, last, step)
    off = ~np.isin(ns, grid.start)
    if not off.any():
        return
    at = ts.iloc[_first(off)]
    session = market.session(market.local(at.to_pydatetime()).date())
    if session.open is None:
        raise InvalidBars(
            symbol, "ts", at, f"is on a day the exchange is closed ({session.reason})"
        )
    hours = f"{_hhmm(market, session.open)}–{_hhmm(market, session.close)} {market.tz}"
    raise InvalidBars(
        symbol,
        "ts",
        at,
        f"is not a bar start of the {session.date} session "
        f"({hours}, every {format_interval(step)} from the open)",
    )


# -- small pieces ----------------------------------------------------------------------------


def _fail_at(
    bad: np.ndarray,
    symbol: str,
    field: str,
    column: np.ndarray,
    expected: str,
    ts: pd.Series,
    other: np.ndarray | None = None,
) -> None:
    if bad.any():
        i = _first(bad)
        detail = expected.format(_plain(other[i])) if other is not None else expected
        raise InvalidBars(symbol, field, column[i], detail, ts.iloc[i])


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _hhmm(market: MarketHoursManager, at: datetime | None) -> str:
    return market.local(at).strftime("%H:%M") if at is not None else "closed"


def _plain(value: Any) -> Any:
    """Python scalars in messages: `99.5`, not `np.float64(99.5)`; times as ISO text."""
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value
