"""Asset checks: what must hold of a cycle's bars and signals before anyone trusts them."""

import dagster as dg
import numpy as np
import pandas as pd

from dgas_pipeline.defs.assets import CYCLE_PARTITIONS, PARTITION, bars, signals
from dgas_pipeline.defs.resources import PipelineResource
from dgas_pipeline.market.bars import bar_for_key


@dg.asset_check(
    asset=bars,
    partitions_def=CYCLE_PARTITIONS,
    description="OHLC consistent, finite, one bar per symbol in each cycle's window",
)
def bars_valid_and_complete(
    context: dg.AssetCheckExecutionContext, bars: pd.DataFrame, pipeline: PipelineResource
) -> dg.AssetCheckResult:
    market, interval = pipeline.market(), pipeline.settings().interval_delta
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
    return dg.AssetCheckResult(
        passed=consistent and not missing,
        metadata={
            "ohlc_consistent": consistent,
            "symbols_missing_the_bar": dg.MetadataValue.json(missing),
        },
    )


@dg.asset_check(
    asset=signals,
    partitions_def=CYCLE_PARTITIONS,
    description="scores in [0, 1]; stop and target on the right side of entry",
)
def signals_sane(signals: pd.DataFrame) -> dg.AssetCheckResult:
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
    return dg.AssetCheckResult(
        passed=in_range and sides,
        metadata={
            "scores_in_range": in_range,
            "stops_and_targets_sided": sides,
            "signals": len(signals),
        },
    )
