"""`dgas signals`: the stored signals with their outcomes and deliveries, filtered by
session, symbol and outcome.

The command registers itself (`add_commands`) like the watchlist commands, so the CLI only
wires it in. It needs our database, not the Dagster instance.
"""

from __future__ import annotations

import argparse
from datetime import date, datetime, time, timedelta
from typing import Any

from dgas_pipeline import clock
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.location import load_location
from dgas_pipeline.market import MarketHoursManager
from dgas_pipeline.operate.signals_report import render_signals, signal_rows
from dgas_pipeline.store.signal_queries import find_stored_signals
from dgas_pipeline.store.tables import OUTCOMES
from dgas_pipeline.tickers import check_ticker

DEFAULT_LIMIT = 100
"""Without --date, the newest this many: a listing a person reads, not an export."""


def add_commands(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    common: argparse.ArgumentParser,
    parser_class: type[argparse.ArgumentParser],
) -> None:
    """Register `signals` on the `dgas` sub-command group."""
    del parser_class  # no sub-commands of its own
    signals = commands.add_parser(
        "signals", parents=[common], help="stored signals with their outcomes and deliveries"
    )
    signals.add_argument(
        "--date", metavar="D", help="the session's signals (YYYY-MM-DD or 'today')"
    )
    signals.add_argument("--symbol", metavar="S", help="one ticker's signals")
    signals.add_argument(
        "--status", metavar="S", help=f"one outcome: {'|'.join(OUTCOMES[-1:] + OUTCOMES[:-1])}"
    )
    signals.set_defaults(handler=cmd_signals, render=render_signals_listing)


def cmd_signals(args: argparse.Namespace) -> dict[str, Any]:
    location = load_location(args.config)
    market = location.market
    day = session_date(args.date, market) if args.date is not None else None
    symbol = check_ticker(args.symbol, "--symbol") if args.symbol is not None else None
    status = outcome(args.status) if args.status is not None else None
    start, end = session_window(market, day) if day is not None else (None, None)
    with location.engine().connect() as conn:
        found = find_stored_signals(
            conn,
            start=start,
            end=end,
            symbol=symbol,
            outcome=status,
            limit=None if day is not None else DEFAULT_LIMIT,
        )
        rows = signal_rows(conn, found, run_started=None)
    return {
        "date": day.isoformat() if day else None,
        "symbol": symbol,
        "status": status,
        "exchange_tz": market.tz.key,
        "signals": rows,
    }


def session_date(text: str, market: MarketHoursManager) -> date:
    if text == "today":
        return market.local(clock.now()).date()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("--date", text, "is not a date (expected YYYY-MM-DD)") from None
    market.check_in_range(day, "--date")
    return day


def outcome(text: str) -> str:
    if text.upper() not in OUTCOMES:
        raise InvalidInput("--status", text, f"is not an outcome (expected one of {OUTCOMES})")
    return text.upper()


def session_window(market: MarketHoursManager, day: date) -> tuple[datetime, datetime]:
    """`(open, close]` of the session (its signals are stamped at their bars' closes); a
    day without a session has none, so its whole day is an empty window."""
    session = market.session(day)
    if session.open is not None and session.close is not None:
        return session.open, session.close
    midnight = datetime.combine(day, time.min, market.tz)
    return midnight, midnight + timedelta(days=1)


def render_signals_listing(result: dict[str, Any]) -> str:
    lines = render_signals(result["signals"], result["exchange_tz"])
    if result["date"] is None and len(result["signals"]) == DEFAULT_LIMIT:
        lines.append(f"(the newest {DEFAULT_LIMIT}; --date D lists a whole session)")
    return "\n".join(lines)
