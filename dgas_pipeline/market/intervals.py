"""Bar intervals as people write them ("30min", "1h", "45min", "4h").

One parser so that the CLI, the config and the planner accept exactly the same spellings and
reject the rest with the same message.
"""

from __future__ import annotations

import re
from datetime import timedelta

from dgas_pipeline.errors import InvalidInput

# ASCII digits only (`re.ASCII`): `\d` alone would read `３０min` as 30 minutes.
_PATTERN = re.compile(r"\s*([0-9]+)\s*(min|m|h|hour|hours)\s*", re.IGNORECASE | re.ASCII)
_EXPECTED = "is not an interval (expected a positive number of minutes or hours, e.g. 30min, 1h)"
# A bar longer than a day is not an intraday bar; the cap also keeps huge numbers from
# overflowing datetime arithmetic into a traceback.
MAX_INTERVAL = timedelta(hours=24)
_TOO_LONG = "is longer than a day (expected at most 24h, e.g. 30min, 1h)"
# Digits beyond these are a day many times over: refused before `int()`, which takes
# quadratic time on long text and refuses more than 4,300 digits with its own ValueError.
_MAX_DIGITS = 8


def parse_interval(text: str | timedelta, field: str = "interval") -> timedelta:
    """Return the interval as a timedelta; whole minutes only, as bars start on minute marks."""
    if isinstance(text, timedelta):
        minutes = text.total_seconds() / 60
        if minutes <= 0 or minutes != int(minutes):
            raise InvalidInput(field, str(text), _EXPECTED)
        if text > MAX_INTERVAL:
            raise InvalidInput(field, str(text), _TOO_LONG)
        return text
    match = _PATTERN.fullmatch(str(text))
    if not match:
        raise InvalidInput(field, text, _EXPECTED)
    digits, unit = match.group(1).lstrip("0") or "0", match.group(2).lower()
    if len(digits) > _MAX_DIGITS:
        raise InvalidInput(field, text, _TOO_LONG)
    amount = int(digits)
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
