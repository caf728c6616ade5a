"""How a table names the exchange's time zone in its header.

"ET" is what New York traders read and write; any other exchange is named by its IANA zone,
which says the city and never hides a DST switch behind an abbreviation that changes with the
date. One rule for every command's table, so `status`, `run-once`, `signals` and `alerts
replay` label their times the same way.
"""

from __future__ import annotations

from datetime import datetime

NEW_YORK = "America/New_York"


def zone_label(tz_name: str) -> str:
    """The header label of times shown in `tz_name`."""
    return "ET" if tz_name == NEW_YORK else tz_name


def local_time(text: str | None, tz_name: str = NEW_YORK, fmt: str = "%a %Y-%m-%d %H:%M %Z") -> str:
    """An ISO instant of a command's JSON as a table shows it, in `tz_name`; "-" for none."""
    if text is None:
        return "-"
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).astimezone(ZoneInfo(tz_name)).strftime(fmt)
