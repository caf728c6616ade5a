"""Hypothesis strategies: small multi-symbol bar frames with the awkward cases in them
(flat stretches, prices rounded to the cent so closes tie the PLdot, very low and very high
price levels)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import strategies as st

START = pd.Timestamp("2024-03-04 14:30", tz="UTC")
STEP = pd.Timedelta("30min")


@st.composite
def bar_frames(draw: st.DrawFn, max_symbols: int = 3, min_bars: int = 1, max_bars: int = 40):
    """(bars, lengths): one frame sorted by (symbol, ts), and each symbol's bar count."""
    n_symbols = draw(st.integers(1, max_symbols))
    lengths = [draw(st.integers(min_bars, max_bars)) for _ in range(n_symbols)]
    seed = draw(st.integers(0, 2**32 - 1))
    vol = draw(st.sampled_from([0.0, 0.002, 0.01, 0.05]))
    level = draw(st.sampled_from([3.0, 100.0, 3000.0]))
    round_to_cent = draw(st.booleans())
    rng = np.random.default_rng(seed)
    parts = []
    for i, n in enumerate(lengths):
        close = level * np.exp(np.cumsum(vol * rng.standard_normal(n)))
        open_ = np.concatenate([[level], close[:-1]])
        high = np.maximum(open_, close) * (1 + vol * np.abs(rng.standard_normal(n)))
        low = np.minimum(open_, close) * (1 - vol * np.abs(rng.standard_normal(n)) / 2)
        if round_to_cent:
            open_, high, low, close = (np.round(a, 2) for a in (open_, high, low, close))
            high = np.maximum.reduce([high, open_, close])
            low = np.minimum.reduce([low, open_, close])
        ts = pd.date_range(START, periods=n, freq=STEP)
        parts.append(
            pd.DataFrame(
                {
                    "symbol": f"S{i}",
                    "ts": ts,
                    "open": open_,
                    "high": high,
                    "low": low,
                    "close": close,
                    "volume": 100.0,
                    "session_open": START,
                    "session_close": START + n * STEP,
                }
            )
        )
    return pd.concat(parts, ignore_index=True), lengths


def prefix_rows(lengths: list[int], keep: list[int]) -> np.ndarray:
    """Row positions of the first keep[i] bars of each symbol in a frame of `lengths`."""
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return np.concatenate([s + np.arange(k) for s, k in zip(starts, keep, strict=True)])
