"""Bar intervals as people write them ("30min", "1h", "45min", "4h").

One parser so that the CLI, the config and the planner accept exactly the same spellings and
reject the rest with the same message.
"""

from __future__ import annotations

import re
from datetime import timedelta

from dgas_pipeline.errors import InvalidInput

_PATTERN = re.compile(r"^\s*(\d+)\s*(min|m|h|hour|hours)\s*$", re.IGNORECASE)
_EXPECTED = "is not an interval (expected a positive number of minutes or hours, e.g. 30min, 1h)"
# A bar longer than a day is not an intraday bar; the cap also keeps huge numbers from
# overflowing datetime arithmetic into a traceback.
MAX_INTERVAL = timedelta(hours=24)
_TOO_LONG = "is longer than a day (expected at most 24h, e.g. 30min, 1h)"


def parse_interval(text: str | timedelta, field: str = "interval") -> timedelta:
    """Return the interval as a timedelta; whole minutes only, as bars start on minute marks."""
    if isinstance(text, timedelta):
        minutes = text.total_seconds() / 60
        if minutes <= 0 or minutes != int(minutes):
            raise InvalidInput(field, str(text), _EXPECTED)
        if text > MAX_INTERVAL:
            raise InvalidInput(field, str(text), _TOO_LONG)
        return text
    match = _PATTERN.match(str(text))
    if not match:
        raise InvalidInput(field, text, _EXPECTED)
    amount, unit = int(match.group(1)), match.group(2).lower()
    minutes = amount * 60 if unit.startswith("h") else amount
    if minutes <= 0:
        raise InvalidInput(field, text, _EXPECTED)
    if minutes > MAX_INTERVAL.total_seconds() // 60:
        raise InvalidInput(field, text, _TOO_LONG)
    return timedelta(minutes=minutes)


def format_interval(delta: timedelta) -> str:
    """The canonical spelling, used in keys, tables and JSON ("30min", "1h", "4h")."""
    minutes = int(delta.total_seconds() // 60)
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}min"
