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
    missing = _symbols_missing_the_bar(bars, market, interval)
    found = {"ohlc_consistent": consistent, "symbols_missing_the_bar": missing}
    return consistent and not missing, found


def _symbols_missing_the_bar(
    bars: pd.DataFrame, market: MarketHoursManager, interval: timedelta
) -> dict[str, list[str]]:
    """By partition (in key order), the symbols it holds without a row at its bar's start.

    Computed on integer codes of (partition, symbol) pairs: a range run's frame repeats each
    bar's history, ~13,000 rows per bar for 100 symbols, and a pass per partition over
    Python sets of its symbols cost seconds per run.
    """
    if bars.empty:
        return {}
    parts, keys = pd.factorize(bars[PARTITION])
    symbols, names = pd.factorize(bars["symbol"])
    starts = pd.DatetimeIndex([bar_for_key(market, str(k), interval).start for k in keys])
    at_start = _instants(pd.DatetimeIndex(bars["ts"])) == _instants(starts)[parts]
    pairs = parts.astype(np.int64) * len(names) + symbols
    absent = np.setdiff1d(np.unique(pairs), np.unique(pairs[at_start]))
    missing: dict[str, list[str]] = {}
    for pair in absent:
        part, symbol = divmod(int(pair), len(names))
        missing.setdefault(str(keys[part]), []).append(str(names[symbol]))
    return {key: sorted(missing[key]) for key in sorted(missing)}


def _instants(index: pd.DatetimeIndex) -> np.ndarray:
    """Nanoseconds since the epoch, whatever the zone and unit."""
    if index.tz is None:
        index = index.tz_localize("UTC")
    return index.tz_convert("UTC").as_unit("ns").asi8


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
