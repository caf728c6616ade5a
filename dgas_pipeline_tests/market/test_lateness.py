"""Too late to notify: one rule, measured from the launch's due time, at fixed instants.

2026-11-20 is a regular Friday (close 16:00 ET = 21:00Z); 2026-11-27 closes early at 13:00 ET
(18:00Z); 2026-03-09 is the first Monday of EDT (the 09:30 bar ends 14:00Z).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market import MarketHoursManager, PlanSettings
from dgas_pipeline.market.lateness import is_late
from dgas_pipeline.market.planner import cycle_due, eod_due

HOUR = timedelta(hours=1)
DUE = datetime(2026, 11, 20, 21, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "late"),
    [
        (DUE - timedelta(minutes=5), False),  # before it is even due
        (DUE, False),
        (DUE + HOUR, False),  # exactly stale_after past due is still on time
        (DUE + HOUR + timedelta(microseconds=1), True),
        (DUE + timedelta(days=3), True),  # after a weekend of downtime
    ],
    ids=["before-due", "at-due", "exactly-stale-after", "a-microsecond-more", "days-later"],
)
def test_late_means_more_than_stale_after_past_due(now: datetime, late: bool) -> None:
    assert is_late(DUE, now, HOUR) is late


@pytest.mark.parametrize(
    ("bar_end", "delay", "due"),
    [
        ("2026-11-20T15:00:00+00:00", 0, "2026-11-20T15:00:00+00:00"),
        ("2026-11-20T15:00:00+00:00", 2, "2026-11-20T15:02:00+00:00"),
        ("2026-11-27T18:00:00+00:00", 2, "2026-11-27T18:02:00+00:00"),  # the early close's bar
        ("2026-03-09T14:00:00+00:00", 5, "2026-03-09T14:05:00+00:00"),  # first EDT Monday
        ("2026-12-31T21:00:00+00:00", 24 * 60, "2027-01-01T21:00:00+00:00"),  # over year end
    ],
)
def test_a_cycle_is_due_its_data_delay_after_its_bar_ends(
    bar_end: str, delay: int, due: str
) -> None:
    plan = PlanSettings(data_delay=timedelta(minutes=delay))
    assert cycle_due(datetime.fromisoformat(bar_end), plan) == datetime.fromisoformat(due)


@pytest.mark.parametrize(
    ("day", "delay", "due"),
    [
        (date(2026, 11, 20), 20, "2026-11-20T21:20:00+00:00"),
        (date(2026, 11, 27), 20, "2026-11-27T18:20:00+00:00"),  # early close at 13:00 ET
        (date(2026, 3, 9), 0, "2026-03-09T20:00:00+00:00"),  # EDT: 16:00 ET is 20:00Z
        (date(2026, 12, 31), 8 * 60, "2027-01-01T05:00:00+00:00"),  # past midnight, new year
    ],
)
def test_an_eod_is_due_its_delay_after_the_sessions_close(day: date, delay: int, due: str) -> None:
    market = MarketHoursManager()
    plan = PlanSettings(eod_delay=timedelta(minutes=delay))
    assert eod_due(market.session(day), plan) == datetime.fromisoformat(due)


@pytest.mark.parametrize("day", [date(2026, 11, 26), date(2026, 11, 28)], ids=["holiday", "sat"])
def test_a_day_without_a_session_has_no_eod_due(day: date) -> None:
    with pytest.raises(InvalidInput, match=f"session: '{day.isoformat()}' is not a session"):
        eod_due(MarketHoursManager().session(day), PlanSettings())
