"""Trading sessions and the questions people ask about them.

`MarketHoursManager` keeps the seed system's name and questions (`is_market_open`,
`next_market_open`, ...) but answers them from `exchange_calendars` plus the overrides file,
never from hand-kept lists. Instants crossing its API must be timezone-aware: a naive time
is ambiguous across DST and is the classic bug of the schedulers we replace.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import pandas as pd

from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market.calendar import calendar_bounds, exchange_calendar
from dgas_pipeline.market.closure_names import closure_names
from dgas_pipeline.market.overrides import NO_OVERRIDES, CalendarOverrides

WEEKEND = "weekend"
ADHOC_CLOSURE = "ad-hoc closure"
ADHOC_EARLY_CLOSE = "ad-hoc early close"
NEW_YORK = "America/New_York"


@dataclass(frozen=True, slots=True)
class TradingSession:
    """One calendar day on the exchange; `open`/`close` are UTC and None on a closed day."""

    date: date
    open: datetime | None
    close: datetime | None
    early_close: bool
    reason: str | None

    @property
    def is_trading_day(self) -> bool:
        return self.open is not None


def require_aware(at: datetime, field: str = "at") -> datetime:
    """Reject naive instants; return the instant in UTC."""
    if not isinstance(at, datetime):
        raise InvalidInput(field, at, "is not a datetime")
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput(
            field,
            at.isoformat(),
            "is a naive time (expected a timezone, e.g. 2026-11-27T10:00-05:00)",
        )
    return at.astimezone(UTC)


class MarketHoursManager:
    """The exchange clock for one exchange and one set of overrides."""

    def __init__(
        self,
        exchange: str = "XNYS",
        overrides: CalendarOverrides = NO_OVERRIDES,
        first_day: date | None = None,
    ) -> None:
        self.exchange = exchange
        self.overrides = overrides
        # The range is fixed at construction: answers and range checks use the same calendar.
        self._bounds = calendar_bounds(first_day)
        self._calendar = exchange_calendar(exchange, self._bounds)
        self.tz = ZoneInfo(str(self._calendar.tz))
        overrides.check_fits(self._calendar, exchange, *self._bounds)

    # -- questions ---------------------------------------------------------------------------

    def is_trading_day(self, day: date) -> bool:
        return self._index_of(day) is not None

    def session(self, day: date) -> TradingSession:
        """What the exchange does on `day`, with the reason for a closure or an early close."""
        self.check_in_range(day)
        i = self._index_of(day)
        if i is None:
            return TradingSession(day, None, None, False, self._closed_reason(day))
        early = self._early[i]
        return TradingSession(
            day, self._opens[i], self._closes[i], early, self._early_reason(day) if early else None
        )

    def sessions_between(self, start: date, end: date) -> list[TradingSession]:
        """Trading sessions with start <= date <= end, oldest first."""
        self.check_in_range(start, "start")
        self.check_in_range(end, "end")
        lo = bisect.bisect_left(self._dates, start)
        hi = bisect.bisect_right(self._dates, end)
        return [self.session(d) for d in self._dates[lo:hi]]

    def is_market_open(self, at: datetime) -> bool:
        """Inside a session and not in its lunch break (XHKG, XTKS)."""
        at = require_aware(at)
        i = bisect.bisect_right(self._opens, at) - 1
        if i < 0 or at >= self._closes[i]:
            return False
        pause = self.lunch_break(self._dates[i])
        return pause is None or not pause[0] <= at < pause[1]

    def lunch_break(self, day: date) -> tuple[datetime, datetime] | None:
        """The session's midday break (UTC start, end), if it has one before its close: XHKG
        and XTKS pause trading at lunch, and a half day closing at the break has none."""
        pause = self._breaks.get(day)
        i = self._index_of(day)
        if pause is None or i is None or pause[0] >= self._closes[i]:
            return None
        return pause

    def session_at(self, at: datetime) -> TradingSession | None:
        """The session in progress at `at`, if any."""
        at = require_aware(at)
        i = bisect.bisect_right(self._opens, at) - 1
        if i >= 0 and at < self._closes[i]:
            return self.session(self._dates[i])
        return None

    def next_market_open(self, at: datetime) -> datetime:
        """The first open strictly after `at` (tomorrow's when the market is open now)."""
        at = require_aware(at)
        i = bisect.bisect_right(self._opens, at)
        return self._at(self._opens, i, at)

    def next_open_in_calendar(self, at: datetime) -> datetime | None:
        """`next_market_open`, or None on the calendar's last days, whose next open the
        calendar does not know yet: a question about them has an answer, just not this one."""
        at = require_aware(at)
        i = bisect.bisect_right(self._opens, at)
        return self._opens[i] if i < len(self._opens) else None

    def next_market_close(self, at: datetime) -> datetime:
        """The first close strictly after `at` (today's when the market is open now)."""
        at = require_aware(at)
        i = bisect.bisect_right(self._closes, at)
        return self._at(self._closes, i, at)

    def previous_session(self, day: date) -> TradingSession | None:
        i = bisect.bisect_left(self._dates, day) - 1
        return self.session(self._dates[i]) if i >= 0 else None

    def trading_periods(self, day: date) -> list[tuple[datetime, datetime]]:
        """The stretches of continuous trading of `day` (UTC): the whole session, or its
        morning and afternoon around a lunch break. No bar, of any timeframe, spans two."""
        s = self.session(day)
        if s.open is None or s.close is None:
            return []
        pause = self.lunch_break(day)
        if pause is None:
            return [(s.open, s.close)]
        periods = [(s.open, pause[0])]
        if pause[1] < s.close:  # an override may close the day during the break
            periods.append((pause[1], s.close))
        return periods

    def session_intervals(self, day: date, interval: timedelta) -> list[tuple[datetime, datetime]]:
        """Bars of `day`: from the open, stepping by `interval`, the last one cut at the close."""
        if interval <= timedelta(0):
            raise InvalidInput("interval", str(interval), "must be positive")
        bars: list[tuple[datetime, datetime]] = []
        for start, until in self.trading_periods(day):
            while start < until:
                end = min(start + interval, until)
                bars.append((start, end))
                start = end
        return bars

    def regular_hours(self) -> tuple[time, time]:
        """The exchange's usual open and close (exchange-local), as its calendar states them."""
        return self._calendar.open_times[-1][1], self._calendar.close_times[-1][1]

    def local(self, at: datetime) -> datetime:
        """`at` on the exchange's wall clock, for keys and for people."""
        return require_aware(at).astimezone(self.tz)

    def zone_label(self, at: datetime) -> str:
        """The exchange's time zone as people write it next to a wall time at `at`: "ET" for
        New York (either season), else the zone's abbreviation then (GMT/BST, HKT, JST)."""
        if self.tz.key == NEW_YORK:
            return "ET"
        return self.local(at).tzname() or self.tz.key

    @property
    def first_day(self) -> date:
        return self._bounds[0]

    @property
    def last_day(self) -> date:
        return self._bounds[1]

    # -- the table behind the answers --------------------------------------------------------

    @cached_property
    def _table(self) -> tuple[list[date], list[datetime], list[datetime], list[bool]]:
        """Sessions after overrides, as parallel sorted lists (bisect beats pandas per call)."""
        schedule = self._calendar.schedule
        dates = [ts.date() for ts in schedule.index]
        opens = [ts.to_pydatetime().astimezone(UTC) for ts in schedule["open"]]
        closes = [ts.to_pydatetime().astimezone(UTC) for ts in schedule["close"]]
        early_days = {ts.date() for ts in self._calendar.early_closes}
        early = [d in early_days for d in dates]
        closed = {c.date for c in self.overrides.closures}
        for ec in self.overrides.early_closes:
            if ec.date in dates:
                i = dates.index(ec.date)
                # Inside the session: checked when the manager was built (`check_fits`).
                closes[i] = datetime.combine(ec.date, ec.close, self.tz).astimezone(UTC)
                early[i] = True
        keep = [i for i, d in enumerate(dates) if d not in closed]
        return (
            [dates[i] for i in keep],
            [opens[i] for i in keep],
            [closes[i] for i in keep],
            [early[i] for i in keep],
        )

    @property
    def _dates(self) -> list[date]:
        return self._table[0]

    @property
    def _opens(self) -> list[datetime]:
        return self._table[1]

    @property
    def _closes(self) -> list[datetime]:
        return self._table[2]

    @property
    def _early(self) -> list[bool]:
        return self._table[3]

    @cached_property
    def _breaks(self) -> dict[date, tuple[datetime, datetime]]:
        """Lunch breaks by session date, from the calendar's break_start/break_end columns
        (absent or NaT on exchanges and days without one)."""
        schedule = self._calendar.schedule
        if "break_start" not in schedule:
            return {}
        found: dict[date, tuple[datetime, datetime]] = {}
        for ts, starts, ends in zip(
            schedule.index, schedule["break_start"], schedule["break_end"], strict=True
        ):
            if not (pd.isna(starts) or pd.isna(ends)):
                found[ts.date()] = (
                    starts.to_pydatetime().astimezone(UTC),
                    ends.to_pydatetime().astimezone(UTC),
                )
        return found

    @cached_property
    def _holiday_names(self) -> dict[date, str]:
        # Over the whole range, not first..last session: a range may start or end on a
        # holiday (2016-01-01), which lies outside its sessions.
        first, last = self._bounds
        names = self._calendar.regular_holidays.holidays(start=first, end=last, return_name=True)
        return {ts.date(): str(name) for ts, name in names.items()}

    @cached_property
    def _early_close_names(self) -> dict[date, str]:
        first, last = self._bounds
        found: dict[date, str] = {}
        for _, holidays in self._calendar.special_closes:
            names = holidays.holidays(start=first, end=last, return_name=True)
            found.update({ts.date(): str(name) for ts, name in names.items()})
        return found

    def _index_of(self, day: date) -> int | None:
        i = bisect.bisect_left(self._dates, day)
        return i if i < len(self._dates) and self._dates[i] == day else None

    def _closed_reason(self, day: date) -> str:
        override = self.overrides.closure(day)
        if override:
            return override.reason
        if day.weekday() >= 5:
            return WEEKEND
        named = self._holiday_names.get(day) or closure_names(self.exchange).get(day)
        return named or ADHOC_CLOSURE

    def _early_reason(self, day: date) -> str:
        override = self.overrides.early_close(day)
        if override:
            return override.reason
        return self._early_close_names.get(day, ADHOC_EARLY_CLOSE)

    def check_in_range(self, day: date, field: str = "date") -> None:
        """Dates outside the process calendar are bad input, not an empty answer."""
        if not isinstance(day, date) or isinstance(day, datetime):
            raise InvalidInput(field, day, "is not a date (expected YYYY-MM-DD)")
        if not (self.first_day <= day <= self.last_day):
            raise InvalidInput(
                field,
                day.isoformat(),
                f"is outside the {self.exchange} calendar "
                f"({self.first_day.isoformat()} to {self.last_day.isoformat()})",
            )

    def _at(self, instants: list[datetime], i: int, at: datetime) -> datetime:
        if i >= len(instants):
            raise InvalidInput(
                "at", at.isoformat(), f"has no later session in the calendar (ends {self.last_day})"
            )
        return instants[i]
