"""`dgas signals`: the stored signals with their outcomes and deliveries, filtered by
session, symbol and outcome. Needs our database, not the Dagster instance."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from dgas_pipeline.location import Location
from dgas_pipeline.market import MarketHoursManager
from dgas_pipeline.operate.signals_report import render_signals, signal_rows
from dgas_pipeline.store.signal_queries import find_stored_signals

DEFAULT_LIMIT = 100
"""Without a session, the newest this many: a listing a person reads, not an export."""


def stored_signals(
    location: Location, day: date | None, symbol: str | None, outcome: str | None
) -> dict[str, Any]:
    """The signals of session `day` (else the newest DEFAULT_LIMIT), of `symbol` and with
    `outcome` when given, each with its deliveries per channel."""
    market = location.market
    start, end = session_window(market, day) if day is not None else (None, None)
    with location.engine().connect() as conn:
        found = find_stored_signals(
            conn,
            start=start,
            end=end,
            symbol=symbol,
            outcome=outcome,
            limit=None if day is not None else DEFAULT_LIMIT,
        )
        rows = signal_rows(conn, found, run_started=None)
    return {
        "date": day.isoformat() if day else None,
        "symbol": symbol,
        "status": outcome,
        "exchange_tz": market.tz.key,
        "signals": rows,
    }


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
