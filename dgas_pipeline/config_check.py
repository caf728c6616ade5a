"""Everything a run needs of a config beyond its own fields, checked without Dagster.

`SchedulerConfig` checks each field alone; a run also needs what the fields name to exist and
to fit together: the overrides file readable and inside the exchange's sessions, partitions
that Dagster can build from `partitions_start` on the exchange's clock, the history of the
first partition inside the calendar, the alert-rules file valid for this deployment, the
bar files' directory and the log file's place on this machine. `dgas config validate` and
every command that runs a cycle call `check_config` first, so a config that validates runs:
nothing of it fails later inside a run, where it would be a FAILED run instead of a line
naming the field.

The partition rules mirror what `defs/partitions.cycle_partitions` encodes (a cron grid
through the exchange's regular hours on weekdays, one key per planned bar) without importing
Dagster, so the check costs a calendar walk, not a code-location load.
"""

from __future__ import annotations

import os
from datetime import datetime, time, timedelta
from pathlib import Path

from dgas_pipeline import clock
from dgas_pipeline.config import SchedulerConfig
from dgas_pipeline.errors import InvalidInput, InvalidInputs
from dgas_pipeline.location import market_for
from dgas_pipeline.market import MarketHoursManager
from dgas_pipeline.market.bars import history_start
from dgas_pipeline.market.calendar import calendar_bounds, exchange_calendar
from dgas_pipeline.market.sessions import TradingSession


def check_config(config: SchedulerConfig, *, now: datetime | None = None) -> MarketHoursManager:
    """The exchange clock of `config`, or `InvalidInputs` with every problem found.

    `now` (default: the pipeline's `clock.now()`) decides what "the future" is for
    `partitions_start`.
    """
    problems: list[InvalidInput] = []
    market: MarketHoursManager | None = None
    exchange = config.calendar.exchange
    try:
        # The calendar must cover the range dgas needs (`exchange_calendar` says why not).
        exchange_calendar(exchange, calendar_bounds(config.calendar.history_start))
    except InvalidInput as err:
        problems.append(err)
    else:
        try:
            # Reads the overrides file and checks it against the exchange's sessions.
            market = market_for(config)
        except InvalidInput as err:
            problems.extend(_each(err))
    if market is not None:
        problems.extend(partition_problems(market, config, now or clock.now()))
    problems.extend(_machine_problems(config))
    if config.alerts_file is not None:
        from dgas_pipeline.alerts.validation import load_checked_rule_file

        channels = [channel.name for channel in config.notifications.channels]
        try:
            load_checked_rule_file(
                config.alerts_file, interval=config.interval_delta, channels=channels
            )
        except InvalidInput as err:
            problems.extend(_each(err))
    if market is None or problems:  # market is None only with a problem
        raise InvalidInputs(problems)
    return market


def partition_problems(
    market: MarketHoursManager, config: SchedulerConfig, now: datetime
) -> list[InvalidInput]:
    """Why Dagster could not build the cycle partitions from `partitions_start`, if it could not.

    `cycle_partitions` steps a cron grid of `interval` from the regular open to the regular
    close on weekdays; every planned bar must start on that grid, so the regular close must be
    on the hour and every session a weekday whose open is a grid tick and whose close is not
    after the regular close. The first partition's bars read `history_sessions` sessions back,
    which must be inside the calendar too.
    """
    start = config.partitions_start
    try:
        market.check_in_range(start, "partitions_start")
    except InvalidInput as err:
        return [err]
    today = market.local(now).date()
    if start > today:
        return [
            InvalidInput(
                "partitions_start",
                start.isoformat(),
                f"is in the future (today is {today.isoformat()} on the {market.exchange} "
                "clock): no partition could run yet (expected a date up to today)",
            )
        ]
    sessions = market.sessions_between(start, market.last_day)
    if not sessions:
        return [
            InvalidInput(
                "partitions_start",
                start.isoformat(),
                f"has no {market.exchange} session on or after it in the calendar (it ends "
                f"{market.last_day.isoformat()})",
            )
        ]
    problems = _grid_problems(market, config, sessions)
    try:
        history_start(market, _opened(sessions[0]), config.history_sessions)
    except InvalidInput:
        problems.append(
            InvalidInput(
                "history_sessions",
                config.history_sessions,
                f"sessions of history before partitions_start {start.isoformat()} reach "
                f"before the {market.exchange} calendar's first day "
                f"({market.first_day.isoformat()}; expected fewer sessions or a later "
                "partitions_start)",
            )
        )
    return problems


def _grid_problems(
    market: MarketHoursManager, config: SchedulerConfig, sessions: list[TradingSession]
) -> list[InvalidInput]:
    opens, closes = market.regular_hours()
    step = config.interval_delta
    if _minutes(opens) % _minutes(step):
        return [
            InvalidInput(
                "interval",
                config.interval,
                f"does not fit the {market.exchange} open at {opens:%H:%M} (expected an interval "
                "whose grid from the hour meets the open)",
            )
        ]
    for session in sessions:
        local_open = market.local(_opened(session))
        local_close = market.local(session.close or _opened(session))
        day = session.date
        late = local_open - datetime.combine(day, opens, market.tz)
        if day.weekday() >= 5:
            why = f"is a session on a {day:%A}, which the weekday partitions cannot hold"
        elif local_open.date() != day or local_close.date() != day:
            why = (
                f"has a session from {local_open:%a %H:%M} to {local_close:%a %H:%M}, across "
                "midnight, which the partitions cannot hold"
            )
        elif late < timedelta(0) or late % step:
            why = f"opens at {local_open:%H:%M}, off the {config.interval} grid from {opens:%H:%M}"
        elif local_close > datetime.combine(day, closes, market.tz):
            why = f"closes at {local_close:%H:%M}, after the regular close {closes:%H:%M}"
        else:
            continue
        return [
            InvalidInput(
                "calendar.exchange",
                market.exchange,
                f"{why} ({day.isoformat()}): its Dagster partitions from partitions_start "
                f"{config.partitions_start.isoformat()} are not supported (expected a later "
                "partitions_start or another exchange)",
            )
        ]
    return []


def _machine_problems(config: SchedulerConfig) -> list[InvalidInput]:
    """Paths a run opens on this machine: bar files to read, a log file to append to."""
    problems: list[InvalidInput] = []
    files_dir = config.provider.files_dir
    if "files" in config.provider.chain and files_dir is not None and not files_dir.is_dir():
        problems.append(
            InvalidInput(
                "provider.files_dir", str(files_dir), "is not a directory (expected bar files)"
            )
        )
    log = config.logging.file
    if log.enabled and log.path is not None:
        why = _cannot_append(log.path)
        if why:
            problems.append(InvalidInput("logging.file.path", str(log.path), why))
    return problems


def _cannot_append(path: Path) -> str | None:
    """Why a run could not create or append to the file `path`, if it could not."""
    if path.exists():
        if not path.is_file():
            return "is not a regular file (expected a log file path)"
        return None if os.access(path, os.W_OK) else "cannot be written (permission denied)"
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"cannot be created: {parent} is not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot be created: {parent} is not writable"
    return None


def _opened(session: TradingSession) -> datetime:
    if session.open is None:  # sessions_between lists trading sessions only
        raise ValueError(f"session {session.date} has no open")
    return session.open


def _minutes(of: time | timedelta) -> int:
    if isinstance(of, timedelta):
        return int(of.total_seconds() // 60)
    return of.hour * 60 + of.minute


def _each(err: InvalidInput) -> list[InvalidInput]:
    return list(err.problems) if isinstance(err, InvalidInputs) else [err]
