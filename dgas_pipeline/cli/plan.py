"""`dgas plan`: the cycle and EOD launches planned between two dates."""

from __future__ import annotations

import argparse
import functools
from datetime import date, timedelta
from typing import Any

from dgas_pipeline.cli.values import check_order, minutes, parse_date, today
from dgas_pipeline.config import load_config
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.location import market_for
from dgas_pipeline.market import (
    MarketHoursManager,
    PlanSettings,
    format_interval,
    parse_interval,
    plan_launches,
)
from dgas_pipeline.market.zones import NEW_YORK, local_time, zone_label

MAX_PLANNED_LAUNCHES = 100_000
"""A year of 1-minute bars (about 98,500 launches) fits; the calendar's thirteen do not."""


def cmd_plan(args: argparse.Namespace) -> dict[str, Any]:
    config = load_config(args.config)
    market = market_for(config, args.overrides)
    # `is not None`: an empty value (`--start=`) is bad input, not a request for the default.
    start = parse_date(args.start, "--start", market) if args.start is not None else today(market)
    end = (
        parse_date(args.end, "--end", market)
        if args.end is not None
        else min(start + timedelta(days=6), market.last_day)
    )
    settings = PlanSettings(
        interval=parse_interval(args.interval, "--interval")
        if args.interval is not None
        else config.interval_delta,
        data_delay=minutes(args.data_delay, "--data-delay")
        if args.data_delay is not None
        else config.plan_settings.data_delay,
        eod_delay=minutes(args.eod_delay, "--eod-delay")
        if args.eod_delay is not None
        else config.plan_settings.eod_delay,
    )
    check_order(start, end)
    check_plan_size(market, start, end, settings.interval)
    args.render = functools.partial(render_plan, tz_name=market.tz.key)
    return {"launches": [x.to_json() for x in plan_launches(market, start, end, settings)]}


def check_plan_size(market: MarketHoursManager, start: date, end: date, step: timedelta) -> None:
    """A plan is a list a person or a script reads: thirteen years of 1-minute bars (1.3
    million launches, 250 MB of JSON, a gigabyte of memory) is a mistake, refused up front."""
    count = sum(
        -(-(session.close - session.open) // step) + 1  # its bars (the last cut), its EOD
        for session in market.sessions_between(start, end)
        if session.open is not None and session.close is not None
    )
    if count > MAX_PLANNED_LAUNCHES:
        raise InvalidInput(
            "--end",
            end.isoformat(),
            f"makes {count:,} launches from --start {start.isoformat()} at "
            f"{format_interval(step)} bars, more than the {MAX_PLANNED_LAUNCHES:,} one plan "
            "lists (expected a shorter range or a longer --interval)",
        )


def render_plan(result: dict[str, Any], tz_name: str = NEW_YORK) -> str:
    head = f"due ({zone_label(tz_name)})"
    rows = [f"{head:<26} {'kind':<6} partition_key"]
    for x in result["launches"]:
        due = local_time(x["due"], tz_name)
        rows.append(f"{due:<26} {x['kind']:<6} {x['partition_key']}")
    rows.append(f"{len(result['launches'])} launches")
    return "\n".join(rows)
