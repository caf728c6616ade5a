"""The launch planner: what runs when, derived from the exchange clock alone.

Every launch, partition key, sensor request and backfill comes from `plan_launches`, so they
can never disagree. The contract (DESIGN.md §3): for each session, bars start at the open and
step by the interval, the last bar cut at the close; a cycle for `[bar_start, bar_end)` is due
at `bar_end + data_delay`; the EOD at `close + eod_delay`; non-sessions yield nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market.sessions import MarketHoursManager, TradingSession, require_aware

CYCLE_KEY_FORMAT = "%Y-%m-%d-%H:%M"
EOD_KEY_FORMAT = "%Y-%m-%d"
DEFAULT_EOD_DELAY = timedelta(minutes=20)

LaunchKind = Literal["cycle", "eod"]


@dataclass(frozen=True, slots=True)
class Launch:
    """One planned run: a cycle of one bar, or a session's EOD. Times are UTC."""

    kind: LaunchKind
    partition_key: str
    session: date
    due: datetime
    bar_start: datetime | None = None
    bar_end: datetime | None = None

    @property
    def run_key(self) -> str:
        """Stable across restarts and re-plans: `<kind>:<partition_key>`."""
        return launch_run_key(self.kind, [self.partition_key])

    def to_json(self) -> dict[str, str]:
        row = {"kind": self.kind, "partition_key": self.partition_key}
        if self.bar_start is not None and self.bar_end is not None:
            row["bar_start"] = _iso(self.bar_start)
            row["bar_end"] = _iso(self.bar_end)
        row["due"] = _iso(self.due)
        return row


@dataclass(frozen=True, slots=True)
class PlanSettings:
    interval: timedelta = timedelta(minutes=30)
    data_delay: timedelta = timedelta(0)
    eod_delay: timedelta = DEFAULT_EOD_DELAY

    def __post_init__(self) -> None:
        if self.interval <= timedelta(0):
            raise InvalidInput("interval", str(self.interval), "must be positive")
        for name in ("data_delay", "eod_delay"):
            value: timedelta = getattr(self, name)
            if value < timedelta(0):
                raise InvalidInput(name, int(value.total_seconds() // 60), "must be >= 0 minutes")


def plan_launches(
    market: MarketHoursManager, start: date, end: date, settings: PlanSettings = PlanSettings()
) -> list[Launch]:
    """Every launch of the sessions from `start` to `end` (inclusive), sorted by (due, kind)."""
    if end < start:
        raise InvalidInput("end", end.isoformat(), f"is before start {start.isoformat()}")
    launches = [
        launch
        for session in market.sessions_between(start, end)
        for launch in session_launches(market, session, settings)
    ]
    launches.sort(key=lambda launch: (launch.due, launch.kind))
    return launches


def session_launches(
    market: MarketHoursManager, session: TradingSession, settings: PlanSettings
) -> Iterator[Launch]:
    """The cycles of one session, then its EOD."""
    if session.close is None:
        return
    for bar_start, bar_end in market.session_intervals(session.date, settings.interval):
        yield Launch(
            kind="cycle",
            partition_key=cycle_partition_key(market, bar_start),
            session=session.date,
            due=cycle_due(bar_end, settings),
            bar_start=bar_start,
            bar_end=bar_end,
        )
    yield Launch(
        kind="eod",
        partition_key=session.date.strftime(EOD_KEY_FORMAT),
        session=session.date,
        due=eod_due(session, settings),
    )


def cycle_due(bar_end: datetime, settings: PlanSettings) -> datetime:
    """When the cycle of a bar ending at `bar_end` is due: once its data has arrived."""
    return bar_end + settings.data_delay


def eod_due(session: TradingSession, settings: PlanSettings) -> datetime:
    """When a session's EOD is due: `eod_delay` after its close (early closes included)."""
    if session.close is None:
        raise InvalidInput(
            "session", session.date.isoformat(), f"is not a session ({session.reason})"
        )
    return session.close + settings.eod_delay


def launch_run_key(kind: str, partition_keys: Sequence[str]) -> str:
    """The stable key of a launch, which Dagster deduplicates runs by: `<kind>:<key>` for one
    partition, `<kind>-range:<first>..<last>` for a range run."""
    if len(partition_keys) == 1:
        return f"{kind}:{partition_keys[0]}"
    return f"{kind}-range:{partition_keys[0]}..{partition_keys[-1]}"


def launches_due(
    market: MarketHoursManager, after: datetime, upto: datetime, settings: PlanSettings
) -> list[Launch]:
    """Launches with `after < due <= upto`: what a sensor tick owes since the last one."""
    after, upto = require_aware(after, "after"), require_aware(upto, "upto")
    if upto <= after:
        return []
    # Delays can push a due time past midnight; look one week back to be safe.
    first = max(market.local(after).date() - timedelta(days=7), market.first_day)
    last = min(market.local(upto).date(), market.last_day)
    return [
        launch
        for launch in plan_launches(market, first, last, settings)
        if after < launch.due <= upto
    ]


def next_launch(
    market: MarketHoursManager, after: datetime, settings: PlanSettings
) -> Launch | None:
    """The first launch due strictly after `after`, looking up to a month ahead."""
    after = require_aware(after, "after")
    first = max(market.local(after).date() - timedelta(days=7), market.first_day)
    horizon = first + timedelta(days=40)
    while first <= market.last_day:
        last = min(horizon, market.last_day)
        upcoming = [x for x in plan_launches(market, first, last, settings) if x.due > after]
        if upcoming:
            return upcoming[0]
        first, horizon = last + timedelta(days=1), last + timedelta(days=41)
    return None


def cycle_partition_key(market: MarketHoursManager, bar_start: datetime) -> str:
    """Exchange-local bar start: DST moves the UTC time, never the key."""
    return market.local(bar_start).strftime(CYCLE_KEY_FORMAT)


def parse_cycle_partition_key(market: MarketHoursManager, key: str) -> datetime:
    """The UTC bar start of a cycle key; rejects malformed keys with the key in the message."""
    try:
        local = datetime.strptime(key, CYCLE_KEY_FORMAT)
    except ValueError:
        raise InvalidInput(
            "partition_key", key, "is not a cycle key (expected YYYY-MM-DD-HH:MM)"
        ) from None
    return local.replace(tzinfo=market.tz).astimezone(UTC)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")
