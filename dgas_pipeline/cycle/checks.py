"""What must hold of a cycle's bars and signals before anyone trusts them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from dgas_pipeline.cycle.history import PARTITION
from dgas_pipeline.market import MarketHoursManager
from dgas_pipeline.market.bars import bar_for_key


def check_bars(
    bars: pd.DataFrame, market: MarketHoursManager, interval: timedelta
) -> tuple[bool, dict[str, Any]]:
    """OHLC consistent, finite and positive, and one bar per symbol in each cycle's window:
    (passed, what was found)."""
    prices = bars[["open", "high", "low", "close"]].to_numpy(np.float64)
    consistent = bool(
        np.isfinite(prices).all()
        and (prices > 0).all()
        and (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
        and (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    )
    missing: dict[str, list[str]] = {}
    for key, part in bars.groupby(PARTITION):
        bar = bar_for_key(market, str(key), interval)
        present = set(part.loc[part["ts"] == bar.start, "symbol"])
        absent = sorted(set(part["symbol"]) - present)
        if absent:
            missing[str(key)] = absent
    found = {"ohlc_consistent": consistent, "symbols_missing_the_bar": missing}
    return consistent and not missing, found


def check_signals(signals: pd.DataFrame) -> tuple[bool, dict[str, Any]]:
    """Scores in [0, 1]; stop and target on the right side of entry: (passed, found)."""
    scores = signals[["confidence", "signal_strength", "timeframe_alignment"]].to_numpy(np.float64)
    in_range = bool(((scores >= 0) & (scores <= 1)).all())
    long = signals["signal_type"] == "LONG"
    short = signals["signal_type"] == "SHORT"
    sides = bool(
        (signals.loc[long, "stop_loss"] < signals.loc[long, "entry_price"]).all()
        and (signals.loc[long, "target_price"] > signals.loc[long, "entry_price"]).all()
        and (signals.loc[short, "stop_loss"] > signals.loc[short, "entry_price"]).all()
        and (signals.loc[short, "target_price"] < signals.loc[short, "entry_price"]).all()
    )
    found = {"scores_in_range": in_range, "stops_and_targets_sided": sides, "signals": len(signals)}
    return in_range and sides, found
