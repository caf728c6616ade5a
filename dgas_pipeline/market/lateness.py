"""When a launch is late: too late to notify, or overdue for its run.

One rule, `is_late`, with one reference instant: the launch's due time (`cycle_due`,
`eod_due`). With `stale_after` it decides whether a message is stored rather than sent (a
cycle's signals, its alerts, the EOD summary) and whether the sensor's run is live or a
catch-up, so a run the sensor launched live is never withheld, whatever the data or EOD
delay. With the operator's grace it decides whether a launch that has not materialised is
overdue (the `on_time` asset checks, `dgas status`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from dgas_pipeline.market.planner import Launch, PlanSettings, plan_launches
from dgas_pipeline.market.sessions import MarketHoursManager, require_aware


def is_late(due: datetime, now: datetime, stale_after: timedelta) -> bool:
    """More than `stale_after` past `due` at `now` (exactly `stale_after` is still on time)."""
    return now - due > stale_after


def became_overdue(
    market: MarketHoursManager,
    after: datetime,
    now: datetime,
    settings: PlanSettings,
    grace: timedelta,
    first_day: date,
) -> list[Launch]:
    """Launches from session `first_day` on that turned late (by `grace`) in `(after, now]`:
    late at `now`, not yet at `after`. Non-sessions plan nothing, so they are never late."""
    after, now = require_aware(after, "after"), require_aware(now, "now")
    if now <= after:
        return []
    # A due time (plus its delays and grace) may fall days after its session: a week back.
    start = max(market.local(after - grace).date() - timedelta(days=7), first_day, market.first_day)
    end = min(market.local(now).date(), market.last_day)
    if end < start:
        return []
    return [
        launch
        for launch in plan_launches(market, start, end, settings)
        if is_late(launch.due, now, grace) and not is_late(launch.due, after, grace)
    ]


def overdue_reason(market: MarketHoursManager, launch: Launch, grace: timedelta) -> str:
    """`due 15:32 ET, nothing by 15:37`, in the exchange's time (the date when not today's)."""
    due, deadline = market.local(launch.due), market.local(launch.due + grace)
    zone = "ET" if market.tz.key == "America/New_York" else market.tz.key
    by = f"{deadline:%H:%M}" if deadline.date() == due.date() else f"{deadline:%Y-%m-%d %H:%M}"
    return f"due {due:%H:%M} {zone}, nothing by {by}"


def launch_of(
    market: MarketHoursManager, kind: str, partition_key: str, settings: PlanSettings
) -> Launch | None:
    """The planned launch of a cycle or EOD partition key; None if the plan has none."""
    try:
        day = date.fromisoformat(partition_key[:10])
    except ValueError:
        return None
    if not market.first_day <= day <= market.last_day:
        return None
    for launch in plan_launches(market, day, day, settings):
        if launch.kind == kind and launch.partition_key == partition_key:
            return launch
    return None
