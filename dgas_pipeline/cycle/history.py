"""The bars a run's cycles read: each its history up to its bar's end, no later.

A run covers one bar (live) or a range of bars (a backfilled session in one run); frames
carry a `partition_key` column so each bar's part is stored separately and a backfilled bar
reads what a live one would have.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from dgas_pipeline.cycle.services import CycleServices
from dgas_pipeline.data import FetchResult, close_providers, fetch_bars
from dgas_pipeline.market import MarketHoursManager
from dgas_pipeline.market.bars import Bar, bar_for_key, history_start

PARTITION = "partition_key"


def run_bars(services: CycleServices, keys: Sequence[str]) -> list[Bar]:
    """The planner's bars behind a run's partition keys."""
    interval = services.settings.interval_delta
    return [bar_for_key(services.market, key, interval) for key in keys]


def fetch_history(
    services: CycleServices, symbols: list[str], cycle_bars: list[Bar]
) -> tuple[pd.DataFrame, FetchResult]:
    """Validated bars each cycle may use, tagged with its partition: its history up to its
    bar's end, no later, exactly what a live cycle of that bar reads."""
    settings, market = services.settings, services.market
    providers = services.providers()
    try:
        start = history_start(market, cycle_bars[0].start, settings.history_sessions)
        fetched = fetch_bars(
            providers, symbols, start, cycle_bars[-1].end, settings.interval_delta, market
        )
    finally:
        close_providers(providers)
    ts = fetched.bars["ts"]
    frame = pd.concat(
        [
            fetched.bars[
                (ts >= history_start(market, bar.start, settings.history_sessions)) & (ts < bar.end)
            ].assign(**{PARTITION: bar.key})
            for bar in cycle_bars
        ],
        ignore_index=True,
    )
    return frame, fetched


def history_groups(
    market: MarketHoursManager, cycle_bars: list[Bar], sessions: int
) -> list[list[Bar]]:
    """The run's bars grouped by the history they read (one group per session)."""
    groups: dict[datetime, list[Bar]] = {}
    for bar in cycle_bars:
        groups.setdefault(history_start(market, bar.start, sessions), []).append(bar)
    return list(groups.values())


def group_history(bars: pd.DataFrame, group: list[Bar]) -> pd.DataFrame:
    """The base bars a group of cycles read, once each (the IO frames repeat them per cycle)."""
    keys = {bar.key for bar in group}
    rows = bars[bars[PARTITION].isin(keys)].drop(columns=[PARTITION])
    rows = rows.drop_duplicates(["symbol", "ts"], keep="last")
    return rows.sort_values(["symbol", "ts"], ignore_index=True)
