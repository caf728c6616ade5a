"""Dagster partitions whose keys and windows are exactly the planner's: cycle bars,
sessions, and weeks holding a session.

Dagster's `TimeWindowPartitionsDefinition` is a cron grid plus exclusions, and its definition
is serialised to the webserver, so it cannot be subclassed with our own logic. We therefore
encode the planner in it:

- the cron grid ticks every `interval` through the exchange's regular trading hours on
  weekdays; cron exclusions remove the ticks before the open and from the close on, which
  still end the window before them (so the 15:30 bar ends at 16:00, not the next morning,
  and XLON's 16:00 bar at its 16:30 close);
- datetime exclusions remove, day by day, every grid tick that is not a planner bar start:
  holidays, ad-hoc and override closures, the ticks after an early close (the 12:30 bar
  of a 13:00 close still ends at 13:00 because the excluded 13:00 tick ends it) and those of
  a lunch break (XHKG's 11:30 bar ends at the excluded 12:00 tick, its break's start).

The exclusions are derived from the planner's bars (`MarketHoursManager.session_intervals`,
which its cycle launches are made of) rather than from a holiday list, so the two cannot drift;
`dgas_pipeline_tests/defs/test_partitions.py` checks a full year key by key.
Only the days from `partitions_start` to the end of the calendar are encoded: listing keys
costs time linear in the exclusions, and the code location loads on every reload.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import dagster as dg

from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market import MarketHoursManager
from dgas_pipeline.market.planner import CYCLE_KEY_FORMAT, EOD_KEY_FORMAT
from dgas_pipeline.market.weeks import monday_of, mondays, week_sessions

WEEKDAYS = "1-5"


def cycle_partitions(
    market: MarketHoursManager, start: date, interval: timedelta
) -> dg.TimeWindowPartitionsDefinition:
    """One partition per planned cycle bar from `start` on; key = exchange-local bar start."""
    step = _whole_minutes(interval)
    opens, closes = market.regular_hours()
    cron = f"*/{step} {opens.hour}-{closes.hour} * * {WEEKDAYS}"
    # The close hour's ticks from the close on (all of them when it closes on the hour, only
    # 16:30 when XLON closes at 16:30) and the open hour's ticks before the open.
    cron_exclusions = [f"*/{step} {closes.hour} * * {WEEKDAYS}"] if closes.minute == 0 else []
    from_close = [m for m in range(0, 60, step) if m >= closes.minute]
    if closes.minute and from_close:
        minutes = ",".join(str(m) for m in from_close)
        cron_exclusions.append(f"{minutes} {closes.hour} * * {WEEKDAYS}")
    before_open = [m for m in range(0, 60, step) if m < opens.minute]
    if before_open:
        minutes = ",".join(str(m) for m in before_open)
        cron_exclusions.append(f"{minutes} {opens.hour} * * {WEEKDAYS}")
    grid = _grid_starts(market, start, interval, opens, closes)
    # The planner's bars (`session_intervals`, which its cycle launches are made of), without
    # building a launch and a key for each of the years of bars: the location pays this on
    # every load.
    bar_starts = {
        bar_start
        for session in market.sessions_between(start, market.last_day)
        for bar_start, _ in market.session_intervals(session.date, interval)
    }
    stray = bar_starts - set(grid)
    if stray:
        first = market.local(min(stray)).strftime(CYCLE_KEY_FORMAT)
        raise InvalidInput("interval", f"{step}min", f"puts bar {first} off the cron grid {cron!r}")
    # Dagster reads an exclusion's wall time in the partitions' timezone (it replaces tzinfo),
    # so hand it exchange-local instants.
    excluded = [market.local(tick) for tick in grid if tick not in bar_starts]
    return dg.TimeWindowPartitionsDefinition(
        start=datetime.combine(start, opens, market.tz),
        fmt=CYCLE_KEY_FORMAT,
        cron_schedule=cron,
        timezone=str(market.tz),
        exclusions=[*cron_exclusions, *excluded],
    )


def session_partitions(
    market: MarketHoursManager, start: date
) -> dg.TimeWindowPartitionsDefinition:
    """One partition per session (key YYYY-MM-DD), available from the session's midnight.

    `end_offset=1` makes today's key exist before the day is over, because the EOD run starts
    twenty minutes after the close, not after midnight.
    """
    closed = [
        datetime.combine(day, time(0), market.tz)
        for day in _weekdays(start, market.last_day)
        if not market.is_trading_day(day)
    ]
    return dg.TimeWindowPartitionsDefinition(
        start=datetime.combine(start, time(0), market.tz),
        fmt=EOD_KEY_FORMAT,
        cron_schedule=f"0 0 * * {WEEKDAYS}",
        timezone=str(market.tz),
        end_offset=1,
        exclusions=closed,
    )


def week_partitions(market: MarketHoursManager, start: date) -> dg.TimeWindowPartitionsDefinition:
    """One partition per Monday-to-Sunday week holding a session, from the week of `start`;
    key = its Monday (`2026-11-23`, as the weekly roll-up's run key). A week without a
    session (a whole week of closures in the overrides file) is no partition at all, so it
    can be neither launched nor backfilled.

    `end_offset=1`: the running week's key exists from its Monday, because the report runs
    on Friday evening, before the week's window ends.
    """
    first = monday_of(start)
    closed = [
        datetime.combine(monday, time(0), market.tz)
        for monday in mondays(first, market.last_day)
        if not week_sessions(market, monday)
    ]
    return dg.TimeWindowPartitionsDefinition(
        start=datetime.combine(first, time(0), market.tz),
        fmt=EOD_KEY_FORMAT,
        cron_schedule="0 0 * * 1",
        timezone=str(market.tz),
        end_offset=1,
        exclusions=closed,
    )


def _grid_starts(
    market: MarketHoursManager, start: date, interval: timedelta, opens: time, closes: time
) -> list[datetime]:
    """Every tick the cron grid leaves inside regular hours on weekdays, as UTC instants."""
    ticks: list[datetime] = []
    for day in _weekdays(start, market.last_day):
        tick = datetime.combine(day, opens, market.tz)
        end = datetime.combine(day, closes, market.tz)
        while tick < end:
            ticks.append(tick.astimezone(UTC))
            tick += interval
    return ticks


def _weekdays(start: date, end: date) -> list[date]:
    days = []
    day = start
    while day <= end:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def _whole_minutes(interval: timedelta) -> int:
    minutes = interval.total_seconds() / 60
    if minutes != int(minutes) or not 0 < minutes <= 60 or 60 % int(minutes):
        raise InvalidInput(
            "interval", str(interval), "must be a whole number of minutes dividing 60"
        )
    return int(minutes)
