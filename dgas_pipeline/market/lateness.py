"""When a launch is too late to notify: its notifications are stored, never sent.

One rule for every message the pipeline sends (a cycle's signals, its alerts, the EOD
summary) and for the sensor's choice of a live or a catch-up run, with one reference
instant: the launch's due time (`cycle_due`, `eod_due`), so a run the sensor launched live
is never withheld, whatever the data or EOD delay.
"""

from __future__ import annotations

from datetime import datetime, timedelta


def is_late(due: datetime, now: datetime, stale_after: timedelta) -> bool:
    """More than `stale_after` past `due` at `now` (exactly `stale_after` is still on time)."""
    return now - due > stale_after
