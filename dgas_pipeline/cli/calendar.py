"""`dgas calendar`: what the exchange does on a date, and the launches planned on it."""

from __future__ import annotations

import argparse
import functools
from datetime import datetime
from typing import Any

from dgas_pipeline.cli.output import iso
from dgas_pipeline.cli.plan import render_plan
from dgas_pipeline.cli.values import parse_date, today
from dgas_pipeline.config import load_config
from dgas_pipeline.location import market_for
from dgas_pipeline.market import Launch, MarketHoursManager, plan_launches
from dgas_pipeline.market.sessions import TradingSession
from dgas_pipeline.market.zones import NEW_YORK, local_time


def cmd_calendar(args: argparse.Namespace) -> dict[str, Any]:
    config = load_config(args.config)
    market = market_for(config, args.overrides)
    day = parse_date(args.date, "DATE", market) if args.date is not None else today(market)
    session = market.session(day)
    args.render = functools.partial(render_calendar, tz_name=market.tz.key)
    launches: list[Launch] = []
    if session.is_trading_day:
        launches = plan_launches(market, day, day, config.plan_settings)
    return calendar_json(market, session, launches)


def calendar_json(
    market: MarketHoursManager, session: TradingSession, launches: list[Launch]
) -> dict[str, Any]:
    after = session.open or datetime.combine(session.date, datetime.min.time(), market.tz)
    return {
        "date": session.date.isoformat(),
        "is_trading_day": session.is_trading_day,
        "open": iso(session.open),
        "close": iso(session.close),
        "early_close": session.early_close,
        "reason": session.reason,
        # None on the calendar's last days: their next open is not known yet.
        "next_open": iso(market.next_open_in_calendar(after)),
        "launches": [x.to_json() for x in launches],
    }


def render_calendar(result: dict[str, Any], tz_name: str = NEW_YORK) -> str:
    if result["is_trading_day"]:
        kind = "early close" if result["early_close"] else "regular session"
        why = f" ({result['reason']})" if result["reason"] else ""
        head = (
            f"{result['date']}: open {local_time(result['open'], tz_name)} - "
            f"close {local_time(result['close'], tz_name)}, {kind}{why}"
        )
    else:
        head = f"{result['date']}: market closed ({result['reason']})"
    lines = [head, f"next open: {local_time(result['next_open'], tz_name)}"]
    if result["launches"]:
        lines.append(render_plan({"launches": result["launches"]}, tz_name))
    return "\n".join(lines)
