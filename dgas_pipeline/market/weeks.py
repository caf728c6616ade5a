"""Calendar weeks (Monday to Sunday) and the sessions they hold.

A week is what people say ("the week of the 23rd"), keyed by its Monday, which does not move
when a holiday ends the week on Thursday.
"""

from __future__ import annotations

from datetime import date, timedelta

from dgas_pipeline.market.sessions import MarketHoursManager, TradingSession


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_sessions(market: MarketHoursManager, monday: date) -> list[TradingSession]:
    """The sessions of the Monday-to-Sunday week starting `monday` (within the calendar)."""
    last = min(monday + timedelta(days=6), market.last_day)
    first = max(monday, market.first_day)
    return market.sessions_between(first, last) if first <= last else []


def mondays(first: date, last: date) -> list[date]:
    """`first` (a Monday) and every Monday after it up to `last`."""
    found = []
    while first <= last:
        found.append(first)
        first += timedelta(days=7)
    return found
