"""Bars for the analysis tests: real XNYS sessions, a seeded regime-switching random walk.

Built here rather than taken from the data layer so these tests pin the analysis alone.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import exchange_calendars as xcals
import numpy as np
import pandas as pd

INTERVAL = pd.Timedelta("30min")


@lru_cache(maxsize=1)
def xnys() -> xcals.ExchangeCalendar:
    with warnings.catch_warnings():
        # exchange_calendars 4.13 reads Series.values, deprecated in pandas 3.1: not ours
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return xcals.get_calendar("XNYS", start="2023-01-01", end="2026-12-31")


def sessions(first: str, last: str) -> pd.DataFrame:
    """session (date), session_open, session_close (UTC) of XNYS sessions in [first, last]."""
    schedule = xnys().schedule.loc[first:last]
    return pd.DataFrame(
        {
            "session": [d.date() for d in schedule.index],
            "session_open": schedule["open"].dt.tz_convert("UTC").dt.as_unit("ns").to_numpy(),
            "session_close": schedule["close"].dt.tz_convert("UTC").dt.as_unit("ns").to_numpy(),
        }
    )


def bar_grid(days: pd.DataFrame, interval: pd.Timedelta = INTERVAL) -> pd.DataFrame:
    """One row per bar of each session: bars start at the open, step by interval."""
    opens = pd.DatetimeIndex(days["session_open"]).as_unit("ns").asi8
    closes = pd.DatetimeIndex(days["session_close"]).as_unit("ns").asi8
    step = interval.value
    counts = -((opens - closes) // step)  # ceil((close - open) / step)
    which = np.repeat(np.arange(len(days)), counts)
    k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    start = opens[which] + k * step
    return pd.DataFrame(
        {
            "ts": pd.DatetimeIndex(start.view("M8[ns]"), tz="UTC"),
            "session": days["session"].to_numpy()[which],
            "session_open": pd.DatetimeIndex(opens[which].view("M8[ns]"), tz="UTC"),
            "session_close": pd.DatetimeIndex(closes[which].view("M8[ns]"), tz="UTC"),
        }
    )


def regime_walk(
    symbols: list[str],
    days: pd.DataFrame,
    *,
    seed: int = 7,
    start_price: float = 100.0,
    drift: float = 0.0015,
    vol: float = 0.003,
    stay: float = 0.97,
) -> pd.DataFrame:
    """Bars of a random walk switching between up, down and flat regimes (Markov, `stay`
    chance of keeping the regime each bar), sorted by (symbol, ts)."""
    grid = bar_grid(days)
    n, m = len(grid), len(symbols)
    rng = np.random.default_rng(seed)
    switch = rng.random((m, n)) > stay
    switch[:, 0] = True
    draws = rng.integers(0, 3, size=(m, n))
    regime_index = np.maximum.accumulate(np.where(switch, np.arange(n), 0), axis=1)
    regime = np.take_along_axis(draws, regime_index, axis=1) - 1  # -1, 0, +1
    returns = drift * regime + vol * rng.standard_normal((m, n))
    close = start_price * np.exp(np.cumsum(returns, axis=1))
    gap = vol * 0.3 * rng.standard_normal((m, n))
    open_ = np.empty_like(close)
    open_[:, 0] = start_price
    open_[:, 1:] = close[:, :-1] * np.exp(gap[:, 1:])
    wick = vol * 0.5 * np.abs(rng.standard_normal((2, m, n)))
    high = np.maximum(open_, close) * np.exp(wick[0])
    low = np.minimum(open_, close) * np.exp(-wick[1])
    volume = rng.integers(1_000, 100_000, size=(m, n)).astype(np.float64)
    frame = pd.DataFrame(
        {
            "symbol": np.repeat(np.asarray(symbols, dtype=object), n),
            "ts": np.tile(grid["ts"].to_numpy(), m),
            "open": open_.ravel(),
            "high": high.ravel(),
            "low": low.ravel(),
            "close": close.ravel(),
            "volume": volume.ravel(),
            "session": np.tile(grid["session"].to_numpy(), m),
            "session_open": np.tile(grid["session_open"].to_numpy(), m),
            "session_close": np.tile(grid["session_close"].to_numpy(), m),
        }
    )
    for name in ("ts", "session_open", "session_close"):
        frame[name] = pd.DatetimeIndex(frame[name]).tz_convert("UTC")
    return frame


def bars_from_closes(
    closes: list[float] | np.ndarray,
    *,
    symbol: str = "AAA",
    spread: float = 0.0,
    start: str = "2024-03-04 14:30",
) -> pd.DataFrame:
    """A minimal one-symbol frame (30-min bars, one long session) for hand-computed tables:
    high = close + spread, low = close - spread, open = close."""
    c = np.asarray(closes, dtype=np.float64)
    ts = pd.date_range(start, periods=len(c), freq="30min", tz="UTC")
    return pd.DataFrame(
        {
            "symbol": symbol,
            "ts": ts,
            "open": c,
            "high": c + spread,
            "low": c - spread,
            "close": c,
            "volume": 1.0,
            "session_open": ts[0],
            "session_close": ts[-1] + INTERVAL,
        }
    )
