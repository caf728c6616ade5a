"""Which days the exchange calendar covers: a fixed first day and the end of the year two
years ahead.

Pure date arithmetic, apart from the calendar itself, so the config can name its default
first day without importing pandas or exchange_calendars.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

DEFAULT_HISTORY_START = date(2016, 1, 1)
YEARS_AHEAD = 2

__all__ = ["DEFAULT_HISTORY_START", "YEARS_AHEAD", "calendar_bounds"]


def calendar_bounds(first_day: date | None = None, today: date | None = None) -> tuple[date, date]:
    """The first day the calendar covers (`first_day`, default `DEFAULT_HISTORY_START`) and
    its last, the end of the year two years after `today` (default: today in UTC, whatever
    the host's time zone, so every process of a deployment agrees)."""
    today = today or datetime.now(UTC).date()
    return first_day or DEFAULT_HISTORY_START, date(today.year + YEARS_AHEAD, 12, 31)
