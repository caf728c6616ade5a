"""A cycle's bar from its partition key, and the history a cycle reads before it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market.planner import (
    PlanSettings,
    cycle_partition_key,
    parse_cycle_partition_key,
)
from dgas_pipeline.market.sessions import MarketHoursManager


@dataclass(frozen=True, slots=True)
class Bar:
    """One planned bar `[start, end)` (UTC) and its cycle partition key."""

    key: str
    start: datetime
    end: datetime


def bar_for_key(market: MarketHoursManager, key: str, interval: timedelta) -> Bar:
    """The planner's bar behind a cycle key; a key off the plan is bad input, not a guess."""
    start = parse_cycle_partition_key(market, key)
    day = market.local(start).date()
    for bar_start, bar_end in market.session_intervals(day, interval):
        if bar_start == start:
            return Bar(key, bar_start, bar_end)
    raise InvalidInput("partition_key", key, "is not a planned bar of a session")


def bar_closed_by(market: MarketHoursManager, at: datetime, interval: timedelta) -> Bar:
    """The newest bar that had ended by `at` (what `dgas run-once --at` runs)."""
    day = market.local(at).date()
    for _ in range(14):
        if market.is_trading_day(day):
            ended = [(s, e) for s, e in market.session_intervals(day, interval) if e <= at]
            if ended:
                start, end = ended[-1]
                return Bar(cycle_partition_key(market, start), start, end)
        day -= timedelta(days=1)
    raise InvalidInput("at", at.isoformat(), "has no session bar in the two weeks before it")


def cycle_bar_due_by(market: MarketHoursManager, at: datetime, plan: PlanSettings) -> Bar:
    """The newest bar whose cycle was due by `at` (its end plus the data delay): the bar
    `dgas run-once --at` runs, and a watchlist run planned for `at`."""
    return bar_closed_by(market, at - plan.data_delay, plan.interval)


def history_start(market: MarketHoursManager, first_bar: datetime, sessions: int) -> datetime:
    """The open of the session `sessions - 1` sessions before the one of `first_bar`.

    Higher timeframes (4h) need a few sessions of bars before their indicators exist.
    """
    day = market.local(first_bar).date()
    earlier = market.sessions_between(day - _lookback(sessions), day)
    chosen = earlier[-sessions:] if len(earlier) >= sessions else earlier
    opened = chosen[0].open
    if opened is None:  # sessions_between returns trading sessions only
        raise RuntimeError(f"session {chosen[0].date} has no open")
    return opened


def first_day_with_history(market: MarketHoursManager, sessions: int) -> date:
    """The first day whose `sessions` sessions of history (`history_start`) lie inside the
    calendar: what a range that reads history (a replay) may start on."""
    return market.first_day + _lookback(sessions)


def _lookback(sessions: int) -> timedelta:
    """How far back `history_start` looks for `sessions` sessions (weekends and holidays)."""
    return timedelta(days=2 * sessions + 14)
