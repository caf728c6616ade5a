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
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd

from dgas_pipeline.data.grid import NS_PER_MINUTE, days_grid, window_grid
from dgas_pipeline.data.provider import check_symbol, check_window, empty_raw_frame
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
        start_ts, end_ts, step = check_window(start, end, interval)
        layout = _layout(self.market, start_ts, end_ts, step)
        if layout is None:
            return empty_raw_frame()
        bars = _SymbolPaths(self.seed, symbol).bars(layout)
        return pd.DataFrame({"symbol": symbol, "ts": layout.ts, **bars})


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
        minute_code=epoch_minute.astype(np.uint64) * _GOLDEN,
        frac=(col + 1) / minutes[:, None],
        profile=0.7 + 2.4 * (2 * x - 1) ** 2,  # busy open and close, quiet lunch
        first=first,
        last=np.append(first[1:], int(minutes.sum())) - 1,
    )


class _SymbolPaths:
    """All randomness of one (seed, symbol), as pure functions of named counters."""

    def __init__(self, seed: int, symbol: str) -> None:
        self._keys = {
            stream: _key(seed, symbol, stream)
            for stream in ("regime", "boundary", "path", "wick", "traits")
        }
        (price, volume), (volatility, _) = _uniforms(self._keys["traits"], np.arange(2))
        self.base_log_price = float(np.log(15) + price * (np.log(400) - np.log(15)))
        self.volatility = float(0.6 + volatility)  # 0.6 .. 1.6 × the noise constants
        self.base_volume = float(10 ** (3 + 1.7 * volume))  # shares per minute, at mid-day

    def bars(self, layout: _Layout) -> dict[str, np.ndarray]:
        """OHLCV of the window's bars."""
        ordinal = layout.ordinal
        levels = self._boundary_log_levels(np.concatenate([ordinal, ordinal + 1]))
        level_open, level_close = np.split(levels, 2)

        step, volume_noise = _coded_uniforms(self._keys["path"], layout.minute_code)
        high_wick, low_wick = _coded_uniforms(self._keys["wick"], layout.minute_code)
        sigma = MINUTE_NOISE * self.volatility
        # Uniform steps on ±√3 have unit variance.
        walk = np.cumsum(
            np.where(layout.valid, (step - 0.5) * (2 * np.sqrt(3) * sigma), 0.0), axis=1
        )
        rows = np.arange(len(ordinal))
        bridge = walk - layout.frac * walk[rows, layout.minutes - 1][:, None]
        drift = layout.frac * (level_close - level_open)[:, None]
        log_close = level_open[:, None] + drift + bridge
        log_open = np.concatenate([level_open[:, None], log_close[:, :-1]], axis=1)

        valid = layout.valid
        m_open, m_close = np.exp(log_open[valid]), np.exp(log_close[valid])
        m_high = np.maximum(m_open, m_close) * (1 + high_wick[valid] * (sigma * WICK))
        m_low = np.minimum(m_open, m_close) * (1 - low_wick[valid] * (sigma * WICK))
        m_volume = np.round(self.base_volume * layout.profile * (0.5 + volume_noise[valid]) + 1)

        first, keep = layout.first, layout.keep
        return {
            "open": np.round(m_open[first], 2)[keep],
            "high": np.round(np.maximum.reduceat(m_high, first), 2)[keep],
            "low": np.round(np.minimum.reduceat(m_low, first), 2)[keep],
            "close": np.round(m_close[layout.last], 2)[keep],
            "volume": np.add.reduceat(m_volume, first)[keep],
        }

    # -- the slow part: trend and day noise at trading-day boundaries ----------------------

    def _boundary_log_levels(self, ordinal: np.ndarray) -> np.ndarray:
        """Log price where trading day `ordinal` starts (= where day `ordinal - 1` ends)."""
        noise, _ = _normals(self._keys["boundary"], ordinal)
        return self.base_log_price + self._trend(ordinal) + noise * DAY_NOISE * self.volatility

    def _trend(self, tau: np.ndarray) -> np.ndarray:
        span = 1 + HOLD_BLOCKS + FADE_BLOCKS
        blocks = (tau // BLOCK_DAYS)[:, None] - np.arange(span)[None, :]
        drift = self._block_drift(blocks.ravel()).reshape(blocks.shape)
        u = (tau[:, None] - blocks * BLOCK_DAYS) / BLOCK_DAYS  # blocks since each one began
        ramp = np.clip(u, 0, 1) - np.clip((u - 1 - HOLD_BLOCKS) / FADE_BLOCKS, 0, 1)
        return (drift * BLOCK_DAYS * ramp).sum(axis=1)

    def _block_drift(self, block: np.ndarray) -> np.ndarray:
        regime, size = _uniforms(self._keys["regime"], block)
        magnitude = TREND_PER_DAY[0] + size * (TREND_PER_DAY[1] - TREND_PER_DAY[0])
        sign = np.where(regime < P_UP, 1.0, np.where(regime < P_UP + P_DOWN, -1.0, 0.0))
        return sign * magnitude * self.volatility


def _key(seed: int, symbol: str, stream: str) -> np.uint64:
    digest = hashlib.blake2b(f"{seed}\x1f{symbol}\x1f{stream}".encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


def _coded_uniforms(key: np.uint64, code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two uniforms in (0, 1) per element of `code` (a counter already × golden ratio).

    splitmix64's finaliser; numpy uint64 array arithmetic wraps silently, as it must here.
    """
    x = code + key
    x = (x ^ (x >> np.uint64(30))) * _MIX1
    x = (x ^ (x >> np.uint64(27))) * _MIX2
    x ^= x >> np.uint64(31)
    high = (x >> np.uint64(32)).astype(np.float64)
    low = (x & np.uint64(0xFFFFFFFF)).astype(np.float64)
    return (high + 0.5) * 2.0**-32, (low + 0.5) * 2.0**-32


def _uniforms(key: np.uint64, counter: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _coded_uniforms(key, np.asarray(counter, dtype=np.int64).view(np.uint64) * _GOLDEN)


def _normals(key: np.uint64, counter: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two independent standard normals per counter (Box–Muller)."""
    u1, u2 = _uniforms(key, counter)
    radius = np.sqrt(-2.0 * np.log(u1))
    angle = _TWO_PI * u2
    return radius * np.cos(angle), radius * np.sin(angle)
