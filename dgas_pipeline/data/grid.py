"""The session bar grid as numpy arrays, shared by providers, validation and the fetcher.

`MarketHoursManager.session_intervals` answers one day at a time in Python; a fetch of 500
symbols over 60 sessions asks the same few days thousands of times, so each day's grid is
built once per (market, interval) and kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd

from dgas_pipeline.market import MarketHoursManager

NS_PER_MINUTE = 60_000_000_000


@dataclass(frozen=True, slots=True)
class BarGrid:
    """Bars of some sessions, oldest first; instants are int64 nanoseconds since the epoch, UTC."""

    start: np.ndarray
    end: np.ndarray
    session: np.ndarray  # datetime.date objects
    session_open: np.ndarray
    session_close: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    def select(self, mask: np.ndarray) -> BarGrid:
        return BarGrid(
            self.start[mask],
            self.end[mask],
            self.session[mask],
            self.session_open[mask],
            self.session_close[mask],
        )


@lru_cache(maxsize=64)
def window_grid(
    market: MarketHoursManager, start: pd.Timestamp, end: pd.Timestamp, interval: timedelta
) -> BarGrid:
    """Grid bars whose start lies in [start, end); shared, so never write into its arrays."""
    first = market.local(start.to_pydatetime()).date()
    last = market.local((end - pd.Timedelta(1, "us")).to_pydatetime()).date()
    grid = range_grid(market, first, last, interval)
    return grid.select((grid.start >= start.value) & (grid.start < end.value))


@lru_cache(maxsize=256)
def range_grid(market: MarketHoursManager, first: date, last: date, interval: timedelta) -> BarGrid:
    """Grid bars of the sessions from `first` to `last` (exchange-local dates, inclusive)."""
    return days_grid(market, [s.date for s in market.sessions_between(first, last)], interval)


def days_grid(market: MarketHoursManager, days: Iterable[date], interval: timedelta) -> BarGrid:
    """Grid bars of `days` (closed days contribute nothing), in the order given."""
    parts = [_day_grid(market, d, interval) for d in days]
    parts = [p for p in parts if len(p)]
    if not parts:
        empty = np.array([], dtype=np.int64)
        return BarGrid(empty, empty, np.array([], dtype=object), empty, empty)
    return BarGrid(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))


_FIELDS = ("start", "end", "session", "session_open", "session_close")


@lru_cache(maxsize=32_768)
def _day_grid(market: MarketHoursManager, day: date, interval: timedelta) -> BarGrid:
    bars = market.session_intervals(day, interval)
    n = len(bars)
    if not n:
        empty = np.array([], dtype=np.int64)
        return BarGrid(empty, empty, np.array([], dtype=object), empty, empty)
    # session_open/session_close of a bar are those of its trading period: the session, or
    # its morning or afternoon around a lunch break (XHKG, XTKS), so that higher timeframes
    # resampled from them never span the break.
    periods = market.trading_periods(day)
    period_of = [next(p for p in periods if p[0] <= s < p[1]) for s, _ in bars]
    session = np.empty(n, dtype=object)
    session[:] = [day] * n
    return BarGrid(
        np.array([pd.Timestamp(s).value for s, _ in bars], dtype=np.int64),
        np.array([pd.Timestamp(e).value for _, e in bars], dtype=np.int64),
        session,
        np.array([pd.Timestamp(o).value for o, _ in period_of], dtype=np.int64),
        np.array([pd.Timestamp(c).value for _, c in period_of], dtype=np.int64),
    )
