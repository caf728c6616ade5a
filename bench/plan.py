"""Planner benchmark: `python bench/plan.py [--repeats N]` prints one JSON line.

Figures (medians over N repeats, seconds):
- calendar_build_s: a fresh `exchange_calendars` XNYS calendar over the process range;
- plan_2y_s: planning every 30-min cycle and EOD launch of two years;
- partitions_build_s / partitions_keys_s: building the Dagster cycle partitions from the
  planner and listing all their keys, which the code location pays on every load.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import exchange_calendars as xcals
import pandas as pd

from dgas_pipeline.defs.partitions import cycle_partitions
from dgas_pipeline.market import MarketHoursManager, PlanSettings, plan_launches
from dgas_pipeline.market.calendar import calendar_bounds


def _median_seconds(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    start, end = calendar_bounds()

    def fresh_calendar() -> xcals.ExchangeCalendar:
        # get_calendar caches instances; build the class directly to time a real construction.
        calendar_class = xcals.exchange_calendar_xnys.XNYSExchangeCalendar
        return calendar_class(start=pd.Timestamp(start), end=pd.Timestamp(end))

    build_s, _ = _median_seconds(fresh_calendar, args.repeats)
    market = MarketHoursManager()
    plan_s, launches = _median_seconds(
        lambda: plan_launches(market, date(2026, 1, 1), date(2027, 12, 31), PlanSettings()),
        args.repeats,
    )
    partitions_s, partitions = _median_seconds(
        lambda: cycle_partitions(market, date(2025, 1, 2), timedelta(minutes=30)), args.repeats
    )
    keys_s, keys = _median_seconds(partitions.get_partition_keys, args.repeats)
    print(
        json.dumps(
            {
                "repeats": args.repeats,
                "calendar_build_s": round(build_s, 4),
                "plan_2y_s": round(plan_s, 4),
                "plan_2y_launches": len(launches),
                "partitions_build_s": round(partitions_s, 4),
                "partitions_keys_s": round(keys_s, 4),
                "partition_keys": len(keys),
                "partition_exclusions": len(partitions.exclusions or []),
            }
        )
    )


if __name__ == "__main__":
    main()
