"""When watchlists run, as pure functions of the watchlists, the exchange clock and instants.

The sensor in `defs/` calls these each tick; nothing here knows Dagster or the database.

- `every_bar` watchlists join every cycle: `every_bar_symbols`.
- `HH:MM` watchlists run once per session at that exchange-local wall time (so 10:00 is
  10:00 in New York on both sides of a DST switch), provided the market is open then: on a
  holiday, or on an early close when HH:MM is after the close, the run is skipped and
  `skip_reason` says why. Each run's key is `watchlist:<name>:<session date>`, so a sensor
  that asks twice, or restarts, launches it once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple, Protocol

from dgas_pipeline.market import MarketHoursManager, require_aware
from dgas_pipeline.store.tables import WATCHLIST_EVERY_BAR

RUN_KEY_PREFIX = "watchlist"


class ScheduledWatchlist(Protocol):
    """What scheduling needs of a watchlist (`store.Watchlist` has it)."""

    @property
    def name(self) -> str: ...
    @property
    def symbols(self) -> tuple[str, ...]: ...
    @property
    def schedule(self) -> str: ...
    @property
    def enabled(self) -> bool: ...


class WatchlistRun(NamedTuple):
    """One due run: the watchlist, its session date (exchange-local) and when (UTC)."""

    name: str
    date: date
    due: datetime

    @property
    def run_key(self) -> str:
        return watchlist_run_key(self.name, self.date)


class WatchlistSkip(NamedTuple):
    """A run that would have been due at `at` (UTC) but does not happen, and why."""

    name: str
    date: date
    at: datetime
    reason: str


def due_watchlist_runs(
    watchlists: Iterable[ScheduledWatchlist],
    market: MarketHoursManager,
    after: datetime,
    now: datetime,
) -> list[WatchlistRun]:
    """Runs of enabled `HH:MM` watchlists with `after < due <= now`, by (due, name)."""
    runs, _ = _slots(watchlists, market, after, now)
    return runs


def skipped_watchlist_runs(
    watchlists: Iterable[ScheduledWatchlist],
    market: MarketHoursManager,
    after: datetime,
    now: datetime,
) -> list[WatchlistSkip]:
    """The `HH:MM` times in `(after, now]` that do not run, each with its reason."""
    _, skips = _slots(watchlists, market, after, now)
    return skips


def skip_reason(market: MarketHoursManager, day: date, at: time) -> str | None:
    """Why a watchlist scheduled at `at` (exchange-local) does not run on `day`; None if it
    does. E.g. "market closed: Thanksgiving Day", "early close at 13:00 (Day after
    Thanksgiving): 14:00 is after the close"."""
    session = market.session(day)
    if session.open is None or session.close is None:
        return f"market closed: {session.reason}"
    slot = _slot(market, day, at)
    opens = market.local(session.open)
    closes = market.local(session.close)
    if slot < session.open:
        return f"{at:%H:%M} is before the open ({opens:%H:%M})"
    if slot > session.close:
        if session.early_close:
            return (
                f"early close at {closes:%H:%M} ({session.reason}): {at:%H:%M} is after the close"
            )
        return f"{at:%H:%M} is after the close ({closes:%H:%M})"
    return None


def watchlist_run_key(name: str, day: date) -> str:
    """`watchlist:<name>:<YYYY-MM-DD>`: one run per watchlist and session."""
    return f"{RUN_KEY_PREFIX}:{name}:{day.isoformat()}"


def every_bar_symbols(watchlists: Iterable[ScheduledWatchlist]) -> tuple[str, ...]:
    """Tickers of the enabled `every_bar` watchlists, each once, in order of appearance."""
    seen: dict[str, None] = {}
    for w in watchlists:
        if w.enabled and w.schedule == WATCHLIST_EVERY_BAR:
            seen.update(dict.fromkeys(w.symbols))
    return tuple(seen)


def scheduled_time(schedule: str) -> time | None:
    """The exchange-local time of an `HH:MM` schedule; None for `every_bar`."""
    return None if schedule == WATCHLIST_EVERY_BAR else time.fromisoformat(schedule)


def _slots(
    watchlists: Iterable[ScheduledWatchlist],
    market: MarketHoursManager,
    after: datetime,
    now: datetime,
) -> tuple[list[WatchlistRun], list[WatchlistSkip]]:
    after, now = require_aware(after, "after"), require_aware(now, "now")
    timed = [
        (w.name, at)
        for w in watchlists
        if w.enabled and (at := scheduled_time(w.schedule)) is not None
    ]
    runs: list[WatchlistRun] = []
    skips: list[WatchlistSkip] = []
    if not timed or now <= after:
        return runs, skips
    first = max(market.local(after).date(), market.first_day)
    last = min(market.local(now).date(), market.last_day)
    day = first
    while day <= last:
        for name, at in timed:
            slot = _slot(market, day, at)
            if not after < slot <= now:
                continue
            reason = skip_reason(market, day, at)
            if reason is None:
                runs.append(WatchlistRun(name, day, slot))
            else:
                skips.append(WatchlistSkip(name, day, slot, reason))
        day += timedelta(days=1)
    runs.sort(key=lambda r: (r.due, r.name))
    skips.sort(key=lambda s: (s.at, s.name))
    return runs, skips


def _slot(market: MarketHoursManager, day: date, at: time) -> datetime:
    """`at` on `day`'s exchange wall clock, as a UTC instant."""
    return datetime.combine(day, at, market.tz).astimezone(UTC)
