"""The indicator step: each cycle's snapshot, the newest closed bar of every timeframe.

Computed once per stretch of cycles sharing a history (a session) and sliced per cycle:
indicators never look ahead (property-tested), so the slice equals a cycle's own run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dgas_pipeline import analysis
from dgas_pipeline.cycle import mirror
from dgas_pipeline.cycle.history import PARTITION, group_history, history_groups
from dgas_pipeline.cycle.isolation import (
    SymbolFailure,
    failed_symbols,
    failure_lines,
    failure_warnings,
    isolating_symbols,
)
from dgas_pipeline.cycle.services import CycleServices
from dgas_pipeline.cycle.stage import StepResult, timed
from dgas_pipeline.market.bars import Bar


def compute_snapshots(
    services: CycleServices, run: mirror.RunIdentity, bars: pd.DataFrame, cycle_bars: list[Bar]
) -> StepResult[pd.DataFrame]:
    """Every cycle's snapshot; a symbol whose indicators fail is left out of its cycles."""
    settings = services.settings
    parts: list[pd.DataFrame] = []
    failures: list[SymbolFailure] = []
    with timed("indicator_calc_ms") as stage:
        for group in history_groups(services.market, cycle_bars, settings.history_sessions):
            history = group_history(bars, group)
            keys = tuple(bar.key for bar in group)
            for timeframe in settings.enabled_timeframes:
                part, failed = isolating_symbols(
                    history,
                    lambda rows, tf=timeframe, group=group: indicator_snapshot(rows, tf, group),
                    "indicators",
                    keys,
                )
                parts.append(part)
                failures.extend(failed)
    result = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    stage.warn(*failure_warnings(failures))
    by_key = {part.key: failure_lines(failures, part.key) for part in run.partitions}
    stage.record(services.engine(), run, partition_errors=by_key)
    return stage.result(result, rows=len(result), symbols_failed=failed_symbols(failures))


def indicator_snapshot(history: pd.DataFrame, timeframe: str, group: list[Bar]) -> pd.DataFrame:
    """Each cycle of `group`'s newest closed `timeframe` bar per symbol, with indicators (the
    costly termination patterns computed for those rows only)."""
    closed = analysis.closed_bars(analysis.resample_bars(history, timeframe), group[-1].end)
    if closed.empty:
        computed = analysis.compute_indicators(closed).assign(timeframe=timeframe)
        return computed.assign(**{PARTITION: pd.Series(dtype=object)})
    rows, bars_of = latest_rows(closed, group)
    computed = analysis.compute_indicators(closed, rows=rows).reset_index(drop=True)
    keys = np.array([bar.key for bar in group], dtype=object)[bars_of]
    return computed.assign(timeframe=timeframe, **{PARTITION: keys})


def latest_rows(frame: pd.DataFrame, group: list[Bar]) -> tuple[np.ndarray, np.ndarray]:
    """(row positions in `frame`, index in `group`): each symbol's newest row ending by each
    bar's end, bar after bar in `frame`'s order.

    The rows a live cycle of each bar keeps (`groupby("symbol").tail(1)` of what had ended),
    found by one as-of join instead of a pass per bar.
    """
    codes, symbols = pd.factorize(frame["symbol"])  # plain or categorical symbols alike
    rows = pd.DataFrame({"end": frame["end"].array, "symbol": codes})
    rows["row"] = np.arange(len(rows))
    asks = pd.DataFrame(
        [(i, bar.end, code) for i, bar in enumerate(group) for code in range(len(symbols))],
        columns=["bar", "as_of", "symbol"],
    )
    ends = rows["end"].dt
    asks["as_of"] = (
        pd.to_datetime(asks["as_of"], utc=True).dt.tz_convert(ends.tz).dt.as_unit(ends.unit)
    )
    found = pd.merge_asof(
        asks.sort_values("as_of", kind="stable"),
        rows.sort_values("end", kind="stable"),
        left_on="as_of",
        right_on="end",
        by="symbol",
        direction="backward",
        allow_exact_matches=True,
    ).dropna(subset=["row"])
    found = found.sort_values(["bar", "row"], kind="stable")
    return found["row"].astype(np.int64).to_numpy(), found["bar"].to_numpy()
