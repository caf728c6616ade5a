"""The exchange calendar, built once per process.

`exchange_calendars` is the only source of sessions, holidays and early closes. Its default
range ends about a year out, which would make plans for next year's sessions silently empty,
so we build it explicitly from ten years back to two years ahead and reuse it: construction
costs ~0.1 s and every planner, sensor tick and CLI call shares it.
"""

from __future__ import annotations

import warnings
from datetime import date
from functools import lru_cache

import exchange_calendars as xcals
import pandas as pd

from dgas_pipeline.errors import InvalidInput

_XCALS_VALUES = "Series.values returning an ndarray that drops timezone information"
YEARS_BACK = 10
YEARS_AHEAD = 2


def calendar_bounds(today: date | None = None) -> tuple[date, date]:
    """The first and last day the process calendar covers."""
    today = today or date.today()
    return date(today.year - YEARS_BACK, 1, 1), date(today.year + YEARS_AHEAD, 12, 31)


def exchange_calendar(
    exchange: str = "XNYS", bounds: tuple[date, date] | None = None
) -> xcals.ExchangeCalendar:
    """The process-wide calendar of `exchange` (an ISO MIC such as XNYS) over `bounds`
    (default `calendar_bounds()`); cached per range, so a process that lives past New Year
    gets a calendar that really covers the new range."""
    if exchange not in xcals.get_calendar_names(include_aliases=True):
        raise InvalidInput(
            "exchange", exchange, "is not a calendar known to exchange_calendars (e.g. XNYS)"
        )
    start, end = bounds or calendar_bounds()
    return _build(exchange, start, end)


@lru_cache(maxsize=8)
def _build(exchange: str, start: date, end: date) -> xcals.ExchangeCalendar:
    with warnings.catch_warnings():
        # exchange_calendars reads `Series.values` of tz-aware data while it builds a
        # calendar, deprecated in pandas 3.1 (a Pandas4Warning): its code, not ours.
        warnings.filterwarnings("ignore", _XCALS_VALUES, DeprecationWarning)
        return xcals.get_calendar(exchange, start=pd.Timestamp(start), end=pd.Timestamp(end))
