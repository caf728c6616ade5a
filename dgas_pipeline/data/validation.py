"""Bars are checked once, between any provider and any analysis.

Drummond Geometry reads highs, lows and closes bar by bar; one inverted bar or one bar off the
session grid silently shifts every PLdot after it. A provider's bars are therefore accepted
only when they are finite, positive, OHLC-consistent, strictly increasing and exactly on the
session grid of the interval; otherwise the fetcher fails over to the next provider and the
error names the symbol, the bar and the value so a person can look at the source.

`validate_batch` does the same for thousands of symbols in a few numpy passes; a symbol with
a suspect bar is handed to the one-symbol checks, so its message is the one it gets alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from dgas_pipeline.data.grid import BarGrid, range_grid, window_grid
from dgas_pipeline.data.provider import PRICE_COLUMNS, RAW_COLUMNS, VALUE_COLUMNS, empty_raw_frame
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
        raise no_bars(symbol)
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


def no_bars(symbol: str) -> InvalidBars:
    return InvalidBars(symbol, "bars", 0, "bars in the window (expected at least one)")


def validate_window_bars(
    frame: pd.DataFrame | None,
    symbol: str,
    market: MarketHoursManager,
    interval: timedelta | str,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> pd.DataFrame:
    """`validate_bars`, and every bar starting in [start, end): what a fetch may pass on."""
    bars = validate_bars(frame, symbol, market, interval)
    _check_inside_window(bars, symbol, start, end)
    return bars


def validate_batch(
    frame: pd.DataFrame,
    market: MarketHoursManager,
    interval: timedelta | str,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> tuple[pd.DataFrame, dict[str, InvalidBars]]:
    """`validate_window_bars` of every symbol in `frame` (raw bars with a symbol column).

    Returns the accepted bars (raw contract, each symbol's rows together in the order the
    symbols first appear, ts increasing, index 0..n-1) and the error of each rejected symbol.
    The vectorised checks only pick suspects, never reject: every suspect symbol goes through
    `validate_window_bars` alone, which decides and words the error.
    """
    step = parse_interval(interval)
    if not len(frame):
        return empty_raw_frame(), {}
    codes, names = pd.factorize(frame["symbol"], use_na_sentinel=False)
    if (np.diff(codes) < 0).any():  # a symbol's rows are not together: bring them together
        order = np.argsort(codes, kind="stable")
        frame, codes = frame.take(order), codes[order]
    if any(c not in frame.columns for c in RAW_COLUMNS) or not isinstance(
        frame["ts"].dtype, pd.DatetimeTZDtype
    ):  # wrong for every symbol alike: each gets its own message from the one-symbol checks
        values, suspects = None, np.arange(len(names))
    else:
        values, unreadable = _batch_floats(frame)
        suspect_rows = _suspect_rows(frame, values, codes, market, step, start, end) | unreadable
        suspects = np.unique(codes[suspect_rows])
        if not len(suspects):
            return _raw_contract(frame, values, slice(None)), {}

    errors: dict[str, InvalidBars] = {}
    rescued: list[pd.DataFrame] = []
    bounds = np.searchsorted(codes, np.arange(len(names) + 1))
    for code in suspects:
        symbol = names[code]
        rows = frame.iloc[bounds[code] : bounds[code + 1]]
        try:
            rescued.append(validate_window_bars(rows, symbol, market, step, start, end))
        except InvalidBars as err:
            errors[symbol] = err
    parts = [] if values is None else [_raw_contract(frame, values, ~np.isin(codes, suspects))]
    parts += rescued
    bars = pd.concat(parts, ignore_index=True) if parts else empty_raw_frame()
    if rescued:  # back to the order the symbols first appeared in
        order = np.argsort(pd.Index(names).get_indexer(bars["symbol"]), kind="stable")
        bars = bars.take(order).reset_index(drop=True)
    return bars, errors


def validate_frames(
    frames: Mapping[str, pd.DataFrame | None],
    market: MarketHoursManager,
    interval: timedelta | str,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> tuple[pd.DataFrame, dict[str, InvalidBars]]:
    """`validate_batch` of one-symbol frames (a provider without `fetch_many`).

    Frames in the plain form every provider of ours returns are checked as one batch; any
    other frame (text prices, a naive or local ts, a stray symbol) goes alone through
    `validate_window_bars`, whose checks and messages are the reference.
    """
    step = parse_interval(interval)
    symbols: list[str] = []
    parts: list[pd.DataFrame] = []
    errors: dict[str, InvalidBars] = {}
    alone: list[pd.DataFrame] = []
    for symbol, frame in frames.items():
        if frame is not None and len(frame) and _batchable(frame, symbol):
            symbols.append(symbol)
            parts.append(frame)
            continue
        try:
            alone.append(validate_window_bars(frame, symbol, market, step, start, end))
        except InvalidBars as err:
            errors[symbol] = err
    if parts:
        lengths = [len(part) for part in parts]
        batch = pd.DataFrame(
            {
                "symbol": np.repeat(np.array(symbols, dtype=object), lengths),
                "ts": pd.DatetimeIndex(
                    np.concatenate([part["ts"].array.asi8 for part in parts]).view("datetime64[ns]")
                ).tz_localize("UTC"),
                **{
                    c: np.concatenate(
                        [part[c].to_numpy(dtype=np.float64, na_value=np.nan) for part in parts]
                    )
                    for c in VALUE_COLUMNS
                },
            }
        )
        bars, batch_errors = validate_batch(batch, market, step, start, end)
        errors.update(batch_errors)
        alone.insert(0, bars)
    bars = pd.concat(alone, ignore_index=True) if alone else empty_raw_frame()
    return bars, {symbol: errors[symbol] for symbol in frames if symbol in errors}


def _batchable(frame: pd.DataFrame, symbol: str) -> bool:
    """In the form `validate_batch` reads without changing a value: UTC ns times, numbers."""
    if any(c not in frame.columns for c in RAW_COLUMNS[1:]) or frame["ts"].dtype != _UTC_NS:
        return False
    if "symbol" in frame.columns and not (frame["symbol"] == symbol).all():
        return False
    return all(_is_number(frame[c].dtype) for c in VALUE_COLUMNS)


def _batch_floats(frame: pd.DataFrame) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Each value column as `validate_bars` reads it, and the rows holding text, not a number."""
    values: dict[str, np.ndarray] = {}
    unreadable = np.zeros(len(frame), dtype=bool)
    for name in VALUE_COLUMNS:
        values[name], text = _as_floats(frame[name])
        if text is not None:
            unreadable |= text
    return values, unreadable


def _suspect_rows(
    frame: pd.DataFrame,
    values: dict[str, np.ndarray],
    codes: np.ndarray,
    market: MarketHoursManager,
    step: timedelta,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> np.ndarray:
    """Rows that might break a rule of `validate_window_bars` (the rest surely do not)."""
    ns = frame["ts"].to_numpy(dtype="datetime64[ns]").view(np.int64)  # NaT: int64 min
    grid = window_grid(market, start, end, step)
    if not len(grid):
        return np.ones(len(ns), dtype=bool)
    at = np.minimum(np.searchsorted(grid.start, ns), len(grid) - 1)
    suspect = (grid.start[at] != ns) | ~_local_day_is_session(market, grid)[at]
    o, h, lo, c, volume = (values[name] for name in VALUE_COLUMNS)
    for column in (o, h, lo, c, volume):
        suspect |= ~np.isfinite(column)
    for column in (o, h, lo, c):
        suspect |= column <= 0
    suspect |= (h < lo) | (h < np.maximum(o, c)) | (lo > np.minimum(o, c)) | (volume < 0)
    # Strictly increasing within a symbol (the rows of a symbol are together).
    suspect[1:] |= (ns[1:] <= ns[:-1]) & (codes[1:] == codes[:-1])
    return suspect


def _local_day_is_session(market: MarketHoursManager, grid: BarGrid) -> np.ndarray:
    """Per grid bar: its exchange-local date is its session's date, as `validate_bars` assumes
    when it looks a bar's session up by its local date (true unless a session spans midnight)."""
    local = pd.DatetimeIndex(grid.start.view("datetime64[ns]")).tz_localize("UTC")
    local_days = local.tz_convert(market.tz).date
    return np.asarray(local_days == grid.session, dtype=bool)


def _raw_contract(
    frame: pd.DataFrame, values: dict[str, np.ndarray], rows: slice | np.ndarray
) -> pd.DataFrame:
    """`rows` of a batch, as `validate_bars` returns a symbol's bars."""
    ts = frame["ts"].dt.tz_convert("UTC").dt.as_unit("ns")
    return pd.DataFrame(
        {
            "symbol": frame["symbol"].astype("str").array[rows],
            "ts": ts.array[rows],
            **{c: column[rows] for c, column in values.items()},
        }
    )


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
    values, text = _as_floats(column)
    if text is not None and text.any():
        i = _first(text)
        raise InvalidBars(symbol, name, column.iloc[i], "is not a number", ts.iloc[i])
    return values


def _as_floats(column: pd.Series) -> tuple[np.ndarray, np.ndarray | None]:
    """The column as float64 (missing: NaN), and which rows hold something not a number
    (None: a numeric column, nothing to parse)."""
    if _is_number(column.dtype):
        return column.to_numpy(dtype=np.float64, na_value=np.nan), None
    numbers = pd.to_numeric(column, errors="coerce")
    text = (numbers.isna() & column.notna()).to_numpy()
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan), text


def _is_number(dtype: object) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


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


def _check_inside_window(
    bars: pd.DataFrame, symbol: str, start: pd.Timestamp, end: pd.Timestamp
) -> None:
    # A bar past `end` would be look-ahead for the cycle that asked: never pass it on.
    ns = bars["ts"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    outside = (ns < start.value) | (ns >= end.value)
    if outside.any():
        at = bars["ts"].iloc[int(np.flatnonzero(outside)[0])]
        raise InvalidBars(
            symbol,
            "ts",
            at,
            f"is outside the requested window [{start.isoformat()}, {end.isoformat()})",
        )


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
