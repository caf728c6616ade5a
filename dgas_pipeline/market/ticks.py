"""What one evaluation of the market clock owes: the launch requests of a sensor tick.

Pure planning over the exchange clock, so the Dagster sensor stays a thin shell and every
rule here is testable at fixed instants. Rules (DESIGN.md §8):
- launches due in `(after, now]` are owed; `after` is the previous tick's instant (the cursor),
  clamped to `catchup_sessions` sessions back so a long outage does not replay the past;
- a cycle due within `stale_after` of now is launched alone (it notifies live);
- older cycles are grouped into one range run per session (their notifications are stale:
  stored, never sent late), which Dagster runs as one run of many partitions;
- every EOD owed is launched on its own.
Run keys are stable: `cycle:<key>`, `eod:<date>`, `cycle-range:<first>..<last>`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import groupby

from dgas_pipeline.market.lateness import is_late
from dgas_pipeline.market.planner import (
    Launch,
    PlanSettings,
    launch_run_key,
    launches_due,
    next_launch,
)
from dgas_pipeline.market.sessions import MarketHoursManager, require_aware


@dataclass(frozen=True, slots=True)
class TickRequest:
    """One run to request: a cycle (one or several bars of one session) or an EOD."""

    kind: str
    partition_keys: tuple[str, ...]
    session: date
    stale: bool

    @property
    def run_key(self) -> str:
        return launch_run_key(self.kind, self.partition_keys)


@dataclass(frozen=True, slots=True)
class TickPlan:
    requests: list[TickRequest] = field(default_factory=list)
    skip_reason: str | None = None


def plan_tick(
    market: MarketHoursManager,
    after: datetime | None,
    now: datetime,
    plan: PlanSettings,
    *,
    catchup_sessions: int,
    stale_after: timedelta,
) -> TickPlan:
    """The requests owed at `now` since `after` (None: the first tick, nothing is owed yet)."""
    now = require_aware(now, "now")
    after = require_aware(after, "after") if after is not None else now
    after = max(after, catchup_floor(market, now, catchup_sessions))
    owed = launches_due(market, after, now, plan) if after < now else []
    if not owed:
        return TickPlan(skip_reason=skip_reason(market, now, plan))
    requests: list[TickRequest] = []
    old_cycles = [x for x in owed if x.kind == "cycle" and is_late(x.due, now, stale_after)]
    for session, group in groupby(old_cycles, key=lambda x: x.session):
        keys = tuple(x.partition_key for x in group)
        requests.append(TickRequest("cycle", keys, session, stale=True))
    for launch in owed:
        if launch.kind == "cycle" and launch in old_cycles:
            continue
        requests.append(
            TickRequest(
                launch.kind,
                (launch.partition_key,),
                launch.session,
                stale=is_late(launch.due, now, stale_after),
            )
        )
    return TickPlan(requests=requests)


def catchup_floor(market: MarketHoursManager, now: datetime, catchup_sessions: int) -> datetime:
    """Just before the open of the oldest session a restart still catches up.

    That is the `catchup_sessions`-th session before today (past sessions are counted by
    date, so the answer is the same before and after today's open); with 0, today's own.
    """
    today = market.local(now).date()
    floor = now
    if catchup_sessions:
        start = today - timedelta(days=3 * catchup_sessions + 10)
        past = market.sessions_between(start, today - timedelta(days=1))
        if past and past[-catchup_sessions:][0].open is not None:
            floor = past[-catchup_sessions:][0].open
    else:
        opened = market.session(today).open
        if opened is not None and opened <= now:
            floor = opened
    return floor - timedelta(microseconds=1) if floor < now else now


def skip_reason(market: MarketHoursManager, now: datetime, plan: PlanSettings) -> str:
    """Why nothing launches now, in the words an operator looks for."""
    upcoming = next_launch(market, now, plan)
    today = market.session(market.local(now).date())
    when = describe(market, upcoming) if upcoming else "no launch planned in the calendar"
    if not today.is_trading_day:
        next_open = market.next_market_open(now)
        opens = _local(market, next_open, "%a %Y-%m-%d %H:%M")
        return f"market closed: {today.reason}; next open {opens} {market.zone_label(next_open)}"
    return f"next {when}"


def describe(market: MarketHoursManager, launch: Launch) -> str:
    label = "cycle" if launch.kind == "cycle" else "EOD"
    due = f"{_local(market, launch.due, '%Y-%m-%d %H:%M')} {market.zone_label(launch.due)}"
    return f"{label} {due} ({launch.partition_key})"


def _local(market: MarketHoursManager, at: datetime, fmt: str) -> str:
    return market.local(at).strftime(fmt)
