"""The values of flags a handler parses: dates on the exchange calendar, instants, minutes,
timeframes, partition dates. Each refusal is an `InvalidInput` naming the flag, the value
typed and what was expected (exit 2).

Parsed in the handler, not by argparse: most need the config or the exchange calendar,
which `dgas --help` must not load.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from dgas_pipeline import clock
from dgas_pipeline.config import SchedulerConfig
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market import MarketHoursManager, format_interval, parse_interval

MAX_DELAY_MINUTES = 24 * 60


def today(market: MarketHoursManager) -> date:
    return market.local(clock.now()).date()


def parse_date(text: str, field: str, market: MarketHoursManager) -> date:
    if text == "today":
        return today(market)
    try:
        day = date.fromisoformat(text)
    except (TypeError, ValueError):
        raise InvalidInput(field, text, "is not a date (expected YYYY-MM-DD)") from None
    market.check_in_range(day, field)
    return day


def parse_instant(text: str, field: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            field, text, "is not an ISO instant (e.g. 2026-11-20T15:05:00-05:00)"
        ) from None
    if at.tzinfo is None:
        raise InvalidInput(field, text, "has no UTC offset (e.g. 2026-11-20T15:05:00-05:00)")
    try:
        return at.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is in year 0 in UTC
        raise InvalidInput(
            field, text, "is out of range (expected a year from 1 to 9999 in UTC)"
        ) from None


def minutes(text: str, field: str) -> timedelta:
    # ASCII digits only: `int()` also reads `١٢` and ` 12 `, and takes quadratic time on
    # thousands of digits, so a number longer than the bound is refused before converting.
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidInput(field, text, "is not a whole number of minutes (expected e.g. 5)")
    if digits != text and digits.strip("0"):
        raise InvalidInput(field, text, "must be >= 0 minutes")
    digits = digits.lstrip("0") or "0"
    if len(digits) > len(str(MAX_DELAY_MINUTES)) or int(digits) > MAX_DELAY_MINUTES:
        # The config's bound; larger values would also overflow datetime arithmetic.
        raise InvalidInput(field, text, f"must be <= {MAX_DELAY_MINUTES} minutes (one day)")
    return timedelta(minutes=int(digits))


def whole_bars(text: str, field: str, base: timedelta) -> timedelta:
    """A timeframe bars of `base` can be resampled to: a whole multiple of it, no finer."""
    timeframe = parse_interval(text, field)
    if timeframe < base or timeframe % base:
        raise InvalidInput(
            field,
            text,
            f"is not a whole multiple of the interval {format_interval(base)} the bars come in "
            f"(expected e.g. {format_interval(base)}, {format_interval(2 * base)})",
        )
    return timeframe


def partitions_covered(config: SchedulerConfig, market: MarketHoursManager) -> str:
    return (
        f"{config.partitions_start.isoformat()} to {market.last_day.isoformat()}: "
        f"partitions_start to the end of the {market.exchange} calendar"
    )


def parse_partition_date(
    text: str, field: str, config: SchedulerConfig, market: MarketHoursManager
) -> date:
    """A date of a command that runs partitions: Dagster has none before partitions_start,
    and a run launched for one would fail after it was created (and stored)."""
    day = parse_date(text, field, market)
    if day < config.partitions_start:
        covered = partitions_covered(config, market)
        raise InvalidInput(
            field, day.isoformat(), f"is before partitions_start (expected a date from {covered})"
        )
    return day


def check_order(start: date, end: date) -> None:
    """`--end` on or after `--start`."""
    if end < start:
        raise InvalidInput("--end", end.isoformat(), f"is before --start {start.isoformat()}")
