"""Synthetic bars: the default provider, for demos, tests and benchmarks with no network.

Requirements that shape the design:

* The same bar whatever window asked for it, in every process. So nothing depends on the
  window or on Python's salted `hash()`: every random number is a counter-based hash
  (splitmix64's finaliser over numpy uint64) of a blake2b key of (seed, symbol, stream) and a
  counter that names what it is for: a one-minute sub-bar's epoch minute, a trading day's
  ordinal, a regime block's index.
* Drummond signals must occur: log-prices follow a regime-switching trend (up, down,
  congestion blocks of `BLOCK_DAYS` trading days) plus noise.
* Continuous in time, yet any bar computable without history from the beginning of time. The
  trend is a sum of ramps, one per regime block, each rising over its block, held for
  `HOLD_BLOCKS` and fading over `FADE_BLOCKS`: only the last ~30 blocks touch any instant and
  the level reverts slowly instead of wandering off. Each session then runs a Brownian bridge
  from its open level (trend + day noise at that trading day's boundary) to its close level
  (the next boundary), so a close is the next session's open (a holiday lets the trend run
  on for a day: a gap, as in real markets). Minute steps are uniform, not Gaussian: bars
  aggregate dozens of them, and skipping log/sqrt/cos keeps a symbol's 60 sessions at ~2 ms.
* The same prices at every interval: sessions are generated on a one-minute grid and
  aggregated onto the requested interval's grid, so a 1h bar is exactly two 30min bars.
* Thousands of symbols per cycle: `fetch_many` generates them together, a block of symbols
  per numpy call, and each bar is bit-identical to the one `fetch` gives for its symbol alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd

from dgas_pipeline.data.grid import NS_PER_MINUTE, days_grid, window_grid
from dgas_pipeline.data.provider import BarBatch, check_symbol, check_window, empty_raw_frame
from dgas_pipeline.market import MarketHoursManager

# Trading days are counted from here (a Monday); weekends do not move the trend clock.
TREND_EPOCH = np.datetime64("2000-01-03", "D")
BLOCK_DAYS = 6
HOLD_BLOCKS = 4
FADE_BLOCKS = 24
P_UP, P_DOWN = 0.35, 0.35  # the rest is congestion
TREND_PER_DAY = (0.008, 0.025)  # |log drift| per trading day in a trending block
DAY_NOISE = 0.006  # log noise of each session boundary
MINUTE_NOISE = 0.0005  # log noise per one-minute step (≈0.27 % per 30min)
WICK = 1.2  # largest sub-minute wick, in minute-noise units

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TWO_PI = 2 * np.pi
# Symbols are generated in blocks of about this many (symbol, session, minute) cells, so the
# temporaries stay a few MB whatever the watchlist (5,000 symbols × 10 sessions at once would
# take gigabytes).
_BLOCK_CELLS = 1 << 16


class SyntheticProvider:
    """Seeded, deterministic bars for any ticker, only inside sessions."""

    def __init__(self, market: MarketHoursManager, seed: int = 0, name: str = "synthetic") -> None:
        self.market = market
        self.seed = seed
        self.name = name

    def fetch(
        self, symbol: str, start: datetime, end: datetime, interval: timedelta | str
    ) -> pd.DataFrame:
        check_symbol(symbol)
        return self.fetch_many([symbol], start, end, interval).bars

    def fetch_many(
        self, symbols: Sequence[str], start: datetime, end: datetime, interval: timedelta | str
    ) -> BarBatch:
        """All symbols' bars in one frame, symbol by symbol in the order asked, never failing."""
        wanted = [check_symbol(s, f"symbols[{i}]") for i, s in enumerate(symbols)]
        start_ts, end_ts, step = check_window(start, end, interval)
        layout = _layout(self.market, start_ts, end_ts, step)
        if layout is None or not wanted:
            return BarBatch(empty_raw_frame())
        columns = _Paths(self.seed, wanted).bars(layout)
        per_symbol = len(layout.ts)
        ns = np.tile(layout.ts.asi8, len(wanted)).view("datetime64[ns]")
        return BarBatch(
            pd.DataFrame(
                {
                    "symbol": np.repeat(np.array(wanted, dtype=object), per_symbol),
                    "ts": pd.DatetimeIndex(ns).tz_localize("UTC"),
                    **{name: column.ravel() for name, column in columns.items()},
                }
            )
        )


@dataclass(frozen=True, slots=True)
class _Layout:
    """What a window's bars need that is the same for every symbol (computed once per fetch run).

    Sessions are rows of a (session × minute) matrix: each session is computed on its own row,
    so its bars never depend, not even by a rounding error, on which other sessions were asked.
    """

    ts: pd.DatetimeIndex  # starts of the bars in the window
    keep: np.ndarray  # which bars of the whole sessions are in the window
    ordinal: np.ndarray  # trading-day ordinal of each session
    minutes: np.ndarray  # minutes in each session
    valid: np.ndarray  # (session, minute) inside the session
    all_valid: bool  # no early close: every row is a full session
    minute_code: np.ndarray  # (session, minute) epoch minute × golden ratio, for hashing
    frac: np.ndarray  # (session, minute) fraction of the session done at the minute's end
    profile: np.ndarray  # intraday volume profile of each valid minute
    first: np.ndarray  # each bar's first minute, in the flattened valid minutes
    last: np.ndarray  # each bar's last minute


@lru_cache(maxsize=8)
def _layout(
    market: MarketHoursManager, start: pd.Timestamp, end: pd.Timestamp, step: timedelta
) -> _Layout | None:
    wanted = window_grid(market, start, end, step)
    if not len(wanted):
        return None
    days: list[date] = list(dict.fromkeys(wanted.session))
    grid = days_grid(market, days, step)
    opens, first_bar = np.unique(grid.session_open, return_index=True)
    minutes = (grid.session_close[first_bar] - opens) // NS_PER_MINUTE
    col = np.arange(int(minutes.max()))[None, :]
    valid = col < minutes[:, None]
    epoch_minute = opens[:, None] // NS_PER_MINUTE + col
    x = (np.broadcast_to(col, valid.shape)[valid] + 0.5) / np.repeat(minutes, minutes)
    session_start = np.concatenate([[0], np.cumsum(minutes)[:-1]])
    first = session_start[np.searchsorted(opens, grid.session_open)] + (
        (grid.start - grid.session_open) // NS_PER_MINUTE
    )
    keep = (grid.start >= start.value) & (grid.start < end.value)
    return _Layout(
        ts=pd.DatetimeIndex(grid.start[keep].astype("datetime64[ns]")).tz_localize("UTC"),
        keep=keep,
        ordinal=np.busday_count(
            TREND_EPOCH, np.array(grid.session[first_bar], dtype="datetime64[D]")
        ).astype(np.int64),
        minutes=minutes,
        valid=valid,
        all_valid=bool(valid.all()),
        minute_code=epoch_minute.astype(np.uint64) * _GOLDEN,
        frac=(col + 1) / minutes[:, None],
        profile=0.7 + 2.4 * (2 * x - 1) ** 2,  # busy open and close, quiet lunch
        first=first,
        last=np.append(first[1:], int(minutes.sum())) - 1,
    )


class _Paths:
    """All randomness of some (seed, symbol)s, as pure functions of named counters.

    Vectorised across symbols (one row per symbol) with the very operations, in the same
    order and on contiguous arrays, that one symbol alone gets: a bar is bit-identical
    whatever else was asked with it (the tests hold a frozen per-symbol reference).
    """

    def __init__(self, seed: int, symbols: Sequence[str]) -> None:
        self._keys = {
            stream: np.array([_key(seed, symbol, stream) for symbol in symbols], dtype=np.uint64)
            for stream in ("regime", "boundary", "path", "wick", "traits")
        }
        high, low = _uniforms(self._keys["traits"][:, None], np.arange(2))
        price, volume, volatility = high[:, 0], high[:, 1], low[:, 0]
        self.base_log_price = np.log(15) + price * (np.log(400) - np.log(15))
        self.volatility = 0.6 + volatility  # 0.6 .. 1.6 × the noise constants
        # numpy scalars, not one array call: the array `power` may round its last bit otherwise.
        self.base_volume = np.array([10**v for v in 3 + 1.7 * volume])  # shares per minute

    def bars(self, layout: _Layout) -> dict[str, np.ndarray]:
        """OHLCV of the window's bars, one row per symbol, a block of symbols at a time."""
        # A session opens at its day's boundary and closes at the next day's; most of those
        # boundaries are shared with a neighbour, so each is computed once.
        days, which = np.unique(
            np.concatenate([layout.ordinal, layout.ordinal + 1]), return_inverse=True
        )
        n_symbols, n_bars = len(self.volatility), int(layout.keep.sum())
        out = {c: np.empty((n_symbols, n_bars)) for c in ("open", "high", "low", "close", "volume")}
        block = max(1, _BLOCK_CELLS // layout.valid.size)
        for first in range(0, n_symbols, block):
            rows = slice(first, first + block)
            levels = self._boundary_log_levels(days, rows)[:, which]
            level_open, level_close = np.split(levels, 2, axis=1)
            for name, values in self._minute_bars(layout, rows, level_open, level_close).items():
                out[name][rows] = values
        return out

    def _minute_bars(
        self, layout: _Layout, rows: slice, level_open: np.ndarray, level_close: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Bars of the symbols `rows` (arrays: symbol × session × minute).

        In place where it can (the arrays are most of the fetch's memory traffic); each step
        is still the very IEEE operation of the formula beside it, so values do not change.
        """
        code, valid = layout.minute_code, layout.valid
        step, volume_noise = _coded_uniforms(self._keys["path"][rows, None, None], code)
        high_wick, low_wick = _coded_uniforms(self._keys["wick"][rows, None, None], code)
        sigma = MINUTE_NOISE * self.volatility[rows]
        # walk = cumsum(where(valid, (step - 0.5) * (2√3 σ), 0)): uniform steps on ±√3 have
        # unit variance.
        step -= 0.5
        step *= (2 * np.sqrt(3) * sigma)[:, None, None]
        if not layout.all_valid:
            step[:, ~valid] = 0.0
        walk = np.cumsum(step, axis=2)
        # log_close = level_open + frac × (level_close - level_open) + bridge, where
        # bridge = walk - frac × walk at the session's last minute.
        sessions = np.arange(len(layout.ordinal))
        bridge = walk
        bridge -= layout.frac * walk[:, sessions, layout.minutes - 1][:, :, None]
        log_close = layout.frac * (level_close - level_open)[:, :, None]
        log_close += level_open[:, :, None]
        log_close += bridge
        log_open = np.concatenate([level_open[:, :, None], log_close[:, :, :-1]], axis=2)

        def minutes(cells: np.ndarray) -> np.ndarray:
            """(symbol, valid minute) cells, flattened session after session."""
            if layout.all_valid:
                return cells.reshape(len(cells), -1)
            return cells[:, valid]

        m_open, m_close = np.exp(minutes(log_open)), np.exp(minutes(log_close))
        wick = (sigma * WICK)[:, None]
        # m_high = max(open, close) × (1 + high_wick × wick), m_low likewise with 1 - ...
        up = minutes(high_wick)
        up *= wick
        up += 1
        m_high = np.maximum(m_open, m_close)
        m_high *= up
        down = minutes(low_wick)
        down *= wick
        np.subtract(1, down, out=down)
        m_low = np.minimum(m_open, m_close)
        m_low *= down
        # m_volume = round(base_volume × profile × (0.5 + volume_noise) + 1)
        noise = minutes(volume_noise)
        noise += 0.5
        m_volume = self.base_volume[rows, None] * layout.profile
        m_volume *= noise
        m_volume += 1
        np.round(m_volume, out=m_volume)

        first, keep = layout.first, layout.keep
        return {
            "open": np.round(m_open[:, first], 2)[:, keep],
            "high": np.round(np.maximum.reduceat(m_high, first, axis=1), 2)[:, keep],
            "low": np.round(np.minimum.reduceat(m_low, first, axis=1), 2)[:, keep],
            "close": np.round(m_close[:, layout.last], 2)[:, keep],
            "volume": np.add.reduceat(m_volume, first, axis=1)[:, keep],
        }

    # -- the slow part: trend and day noise at trading-day boundaries ----------------------

    def _boundary_log_levels(self, ordinal: np.ndarray, rows: slice) -> np.ndarray:
        """Log price where trading day `ordinal` starts (= where day `ordinal - 1` ends)."""
        noise, _ = _normals(self._keys["boundary"][rows, None], ordinal)
        return (
            self.base_log_price[rows, None]
            + self._trend(ordinal, rows)
            + noise * DAY_NOISE * self.volatility[rows, None]
        )

    def _trend(self, tau: np.ndarray, rows: slice) -> np.ndarray:
        span = 1 + HOLD_BLOCKS + FADE_BLOCKS
        blocks = (tau // BLOCK_DAYS)[:, None] - np.arange(span)[None, :]
        # Neighbouring days share most blocks: draw each block once.
        unique, inverse = np.unique(blocks, return_inverse=True)
        drift = self._block_drift(unique, rows)[:, inverse.reshape(blocks.shape)]
        u = (tau[:, None] - blocks * BLOCK_DAYS) / BLOCK_DAYS  # blocks since each one began
        ramp = np.clip(u, 0, 1) - np.clip((u - 1 - HOLD_BLOCKS) / FADE_BLOCKS, 0, 1)
        return (drift * BLOCK_DAYS * ramp).sum(axis=2)

    def _block_drift(self, block: np.ndarray, rows: slice) -> np.ndarray:
        regime, size = _uniforms(self._keys["regime"][rows, None], block)
        magnitude = TREND_PER_DAY[0] + size * (TREND_PER_DAY[1] - TREND_PER_DAY[0])
        sign = np.where(regime < P_UP, 1.0, np.where(regime < P_UP + P_DOWN, -1.0, 0.0))
        return sign * magnitude * self.volatility[rows, None]


def _key(seed: int, symbol: str, stream: str) -> np.uint64:
    digest = hashlib.blake2b(f"{seed}\x1f{symbol}\x1f{stream}".encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


def _coded_uniforms(key: np.ndarray, code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two uniforms in (0, 1) per element of `code` (a counter already × golden ratio) and key.

    splitmix64's finaliser; numpy uint64 array arithmetic wraps silently, as it must here.
    In place where it can: at 5,000 symbols these arrays are the fetch's memory traffic.
    """
    x = code + key
    x ^= x >> np.uint64(30)
    x *= _MIX1
    x ^= x >> np.uint64(27)
    x *= _MIX2
    x ^= x >> np.uint64(31)
    high = (x >> np.uint64(32)).astype(np.float64)
    x &= np.uint64(0xFFFFFFFF)
    low = x.astype(np.float64)
    for uniform in (high, low):
        uniform += 0.5
        uniform *= 2.0**-32
    return high, low


def _uniforms(key: np.ndarray, counter: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _coded_uniforms(key, np.asarray(counter, dtype=np.int64).view(np.uint64) * _GOLDEN)


def _normals(key: np.ndarray, counter: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two independent standard normals per counter (Box–Muller)."""
    u1, u2 = _uniforms(key, counter)
    radius = np.sqrt(-2.0 * np.log(u1))
    angle = _TWO_PI * u2
    return radius * np.cos(angle), radius * np.sin(angle)
