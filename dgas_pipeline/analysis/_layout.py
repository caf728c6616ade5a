"""Row layout of a multi-symbol bar frame, and the within-symbol array moves built on it.

Every indicator here looks back a fixed number of bars of the *same* symbol. With rows sorted
by (symbol, ts) that is a global shift of the column plus a mask of the first rows of each
symbol, which keeps 5,000 symbols in one pass of numpy instead of a `groupby().apply`.
Windows are summed shift by shift (never with a global cumsum), so a symbol's values are the
same bit for bit whether it is computed alone or among thousands.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

REQUIRED_BAR_COLUMNS = ("symbol", "ts", "open", "high", "low", "close")


@dataclass(frozen=True, slots=True)
class SymbolLayout:
    """Where each symbol's rows are in a frame sorted by (symbol, ts)."""

    codes: np.ndarray  # int64 code of the row's symbol
    pos: np.ndarray  # int64 index of the row within its symbol (0 = oldest)
    first_row: np.ndarray  # int64 index of the row's symbol's first row
    starts: np.ndarray  # first row of each symbol present
    stops: np.ndarray  # one past the last row of each symbol present
    categories: pd.Index  # symbol names by code

    @property
    def size(self) -> int:
        return len(self.codes)

    @property
    def last_rows(self) -> np.ndarray:
        return self.stops - 1

    def shift(self, values: np.ndarray, k: int, fill: float | int | bool = np.nan) -> np.ndarray:
        """`values` k rows back within the symbol; `fill` where the symbol has no such row."""
        if k == 0:
            return values
        out = np.empty_like(values)
        out[k:] = values[:-k]
        out[self.pos < k] = fill  # a symbol's first k rows, the frame's first k among them
        return out

    def rolling_mean(self, values: np.ndarray, window: int) -> np.ndarray:
        """Mean of the last `window` values (NaN until the symbol has that many rows)."""
        total = values.astype(np.float64, copy=True)
        for k in range(1, window):
            total += self.shift(values, k)
        total /= window
        total[self.pos < window - 1] = np.nan
        return total

    def rolling_std(self, values: np.ndarray, window: int) -> np.ndarray:
        """Sample standard deviation (ddof=1, as pandas' rolling std) of the last `window`."""
        mean = self.rolling_mean(values, window)
        acc = np.zeros(self.size)
        for k in range(window):
            acc += (self.shift(values, k) - mean) ** 2
        return np.sqrt(acc / (window - 1))

    def all_recent(self, condition: np.ndarray, n: int) -> np.ndarray:
        """True where `condition` held on this row and the n-1 rows before it."""
        out = condition.copy()
        for k in range(1, n):
            out &= self.shift(condition, k, fill=False)
        return out

    def persistent(self, direction: np.ndarray, n: int) -> np.ndarray:
        """`direction` (int8, 0 = none) where it was the same non-zero value for n rows."""
        same = direction != 0
        for k in range(1, n):
            same &= self.shift(direction, k, fill=0) == direction
        return np.where(same, direction, 0).astype(np.int8)

    def last_index_where(self, mask: np.ndarray) -> np.ndarray:
        """Index of the latest row at or before each row (same symbol) where `mask`; -1 if none."""
        idx = np.where(mask, np.arange(self.size), -1)
        np.maximum.accumulate(idx, out=idx)
        idx[idx < self.first_row] = -1
        return idx

    def run_length(self, values: np.ndarray) -> np.ndarray:
        """How many rows in a row (this one included) `values` has had its current value."""
        change = self.pos == 0
        change[1:] |= values[1:] != values[:-1]
        block_start = np.where(change, np.arange(self.size), 0)
        np.maximum.accumulate(block_start, out=block_start)
        return np.arange(self.size) - block_start + 1


def layout_of(frame: pd.DataFrame) -> SymbolLayout:
    """Check the (symbol, ts) ordering the vectorised code relies on, and describe it."""
    return layout_and_times(frame)[0]


def layout_and_times(frame: pd.DataFrame) -> tuple[SymbolLayout, np.ndarray]:
    """`layout_of(frame)` and the `ts` column as int64 ns, read once for callers needing both."""
    missing = [c for c in REQUIRED_BAR_COLUMNS if c not in frame.columns]
    if missing:
        expected = list(REQUIRED_BAR_COLUMNS)
        raise ValueError(f"bars: missing column(s) {missing} (expected {expected})")
    symbol = frame["symbol"]
    if isinstance(symbol.dtype, pd.CategoricalDtype):
        codes = symbol.cat.codes.to_numpy().astype(np.int64)
        categories = symbol.cat.categories
    else:
        codes, categories = pd.factorize(symbol, sort=False)
        codes = codes.astype(np.int64)
        categories = pd.Index(categories)
    n = len(codes)
    if n and (codes < 0).any():
        raise ValueError("bars.symbol: missing symbol on some rows")
    boundary = np.ones(n, dtype=bool)
    boundary[1:] = codes[1:] != codes[:-1]
    starts = np.flatnonzero(boundary)
    if len(np.unique(codes[starts])) != len(starts):
        raise ValueError("bars: rows of a symbol are not contiguous (sort by symbol, ts first)")
    ts = timestamps_ns(frame["ts"], "ts")
    if n > 1:
        going_back = (ts[1:] <= ts[:-1]) & ~boundary[1:]
        if going_back.any():
            row = int(np.flatnonzero(going_back)[0]) + 1
            raise ValueError(
                f"bars.ts: not strictly increasing within symbol {categories[codes[row]]!r} "
                f"at row {row} (sort by symbol, ts and drop duplicates first)"
            )
    return layout_from_codes(codes, categories), ts


def layout_from_codes(codes: np.ndarray, categories: pd.Index) -> SymbolLayout:
    """Layout of rows whose symbol codes are already known to be contiguous."""
    n = len(codes)
    boundary = np.ones(n, dtype=bool)
    boundary[1:] = codes[1:] != codes[:-1]
    starts = np.flatnonzero(boundary).astype(np.int64)
    stops = np.append(starts[1:], n)[: len(starts)].astype(np.int64)
    first_row = np.repeat(starts, stops - starts).astype(np.int64)
    pos = np.arange(n, dtype=np.int64) - first_row
    return SymbolLayout(codes.astype(np.int64), pos, first_row, starts, stops, categories)


def timestamps_ns(values: pd.Series | pd.Index, name: str) -> np.ndarray:
    """int64 nanoseconds since the epoch of a tz-aware column; naive times are refused."""
    array = values.array
    if not isinstance(array, pd.arrays.DatetimeArray):  # e.g. datetime objects
        array = pd.DatetimeIndex(values).array
    if array.tz is None:
        raise ValueError(f"bars.{name}: times must be tz-aware (UTC), got naive datetimes")
    return array.as_unit("ns").asi8


def utc_ns_series(ns: np.ndarray) -> pd.Series:
    return pd.Series(pd.DatetimeIndex(ns.view("M8[ns]"), tz="UTC"))


def utc_timestamp(value: object, name: str) -> pd.Timestamp:
    """A tz-aware instant as a UTC Timestamp; naive values are an error, not a guess."""
    stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    if stamp.tzinfo is None:
        raise ValueError(f"{name}: {value!r} is a naive datetime (expected tz-aware, e.g. UTC)")
    return stamp.tz_convert("UTC")


def take(values: np.ndarray, index: np.ndarray, fill: float | int | np.ndarray) -> np.ndarray:
    """`values[index]` where index >= 0, `fill` (a scalar, or one value per index) where it is
    -1, the "no such row" of `asof_rows` and `last_index_where`.

    Never reads `values` at a clamped index, so an empty `values` (no bar of a timeframe has
    closed, no confluence zone exists) gives `fill` instead of an IndexError, whatever the
    number of rows asked for.
    """
    found = index >= 0
    dtype = np.result_type(values, fill)
    # np.array copies an array fill; np.full spreads a scalar one
    out = np.array(fill, dtype=dtype) if np.ndim(fill) else np.full(index.shape, fill, dtype)
    out[found] = values[index[found]]
    return out


def asof_rows(
    left_codes: np.ndarray,
    left_times: np.ndarray,
    right_codes: np.ndarray,
    right_times: np.ndarray,
) -> np.ndarray:
    """For each left row, the last right row of the same symbol with time <= the left time.

    Both sides are sorted by (code, time). The pair is packed into one int64 key (code in the
    high bits, seconds in the low 33 bits), so one `searchsorted` answers all symbols at once.
    Returns -1 where the symbol has no such row.
    """
    if len(right_codes) == 0 or len(left_codes) == 0:
        return np.full(len(left_codes), -1, dtype=np.int64)
    seconds_r = right_times // 1_000_000_000
    seconds_l = left_times // 1_000_000_000
    base = min(int(seconds_r.min()), int(seconds_l.min()))
    key_r = (right_codes << 33) | (seconds_r - base)
    key_l = (left_codes << 33) | (seconds_l - base)
    idx = np.searchsorted(key_r, key_l, side="right") - 1
    found = idx >= 0
    found[found] = right_codes[idx[found]] == left_codes[found]
    return np.where(found, idx, -1).astype(np.int64)
