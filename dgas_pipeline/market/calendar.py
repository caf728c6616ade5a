"""The exchange calendar, built once per process.

`exchange_calendars` is the only source of sessions, holidays and early closes. Its default
range ends about a year out, which would make plans for next year's sessions silently empty,
so we build it explicitly from a fixed first day (`calendar.history_start`, default
2016-01-01) to the end of the year two years ahead, and reuse it: construction costs ~0.2 s
and every planner, sensor tick and CLI call of a process shares it; later processes load it
from disk (`calendar_cache.py`). The first day is a setting, not
"ten years back", so New Year never takes a covered day (and its partitions) away; the last
day only moves later.
"""

from __future__ import annotations

import warnings
from datetime import date
from functools import lru_cache

import exchange_calendars as xcals
import pandas as pd

from dgas_pipeline.errors import InvalidInput, cut
from dgas_pipeline.market.calendar_cache import cached_calendar
from dgas_pipeline.market.window import calendar_bounds

_XCALS_VALUES = "Series.values returning an ndarray that drops timezone information"
_XCALS_WEEKDAY = "DatetimeIndex.weekday is deprecated"  # XHKG's lunar-calendar holiday rules
EXCHANGE_FIELD = "calendar.exchange"
UNKNOWN_EXCHANGE = (
    "is not a calendar known to exchange_calendars (expected an ISO MIC such as XNYS, XLON, "
    "XHKG or XTKS; list them all with: "
    "python -c 'import exchange_calendars; print(exchange_calendars.get_calendar_names())')"
)


def exchange_calendar(
    exchange: str = "XNYS", bounds: tuple[date, date] | None = None
) -> xcals.ExchangeCalendar:
    """The process-wide calendar of `exchange` (an ISO MIC such as XNYS) over `bounds`
    (default `calendar_bounds()`); cached per range, so a process that lives past New Year
    gets a calendar that really covers the new range.

    An exchange that exchange_calendars does not know, or knows but cannot build over the
    range (a young exchange, holidays recorded only to this year, rules pandas cannot apply:
    AIXK, XBOM, XBEL), is an `InvalidInput` naming `calendar.exchange`, the config field
    that chose it: every command and the code location build their clock here.
    """
    if not is_known_exchange(exchange):
        raise InvalidInput(EXCHANGE_FIELD, exchange, UNKNOWN_EXCHANGE)
    start, end = bounds or calendar_bounds()
    try:
        return _build(exchange, start, end)
    except Exception as err:  # whatever the library's rules raise while building
        raise InvalidInput(
            EXCHANGE_FIELD,
            exchange,
            f"has no calendar over {start.isoformat()} to {end.isoformat()}, the years dgas "
            f"covers (exchange_calendars: {cut(str(err) or type(err).__name__, 160)})",
        ) from None


def is_known_exchange(exchange: str) -> bool:
    """Whether exchange_calendars knows `exchange` by name (its MIC or an alias)."""
    return exchange in xcals.get_calendar_names(include_aliases=True)


@lru_cache(maxsize=8)
def _build(exchange: str, start: date, end: date) -> xcals.ExchangeCalendar:
    with warnings.catch_warnings():
        # exchange_calendars reads `Series.values` of tz-aware data and (XHKG)
        # `DatetimeIndex.weekday` while it builds a calendar, deprecated in pandas 3.1 (a
        # Pandas4Warning): its code, not ours.
        warnings.filterwarnings("ignore", _XCALS_VALUES, DeprecationWarning)
        warnings.filterwarnings("ignore", _XCALS_WEEKDAY, DeprecationWarning)
        return cached_calendar(
            exchange,
            start,
            end,
            lambda: xcals.get_calendar(exchange, start=pd.Timestamp(start), end=pd.Timestamp(end)),
        )
