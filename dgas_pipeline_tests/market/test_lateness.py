"""Too late to notify: one rule, measured from the launch's due time, at fixed instants.

2026-11-20 is a regular Friday (close 16:00 ET = 21:00Z); 2026-11-27 closes early at 13:00 ET
(18:00Z); 2026-03-09 is the first Monday of EDT (the 09:30 bar ends 14:00Z).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market import MarketHoursManager, PlanSettings
from dgas_pipeline.market.lateness import became_overdue, is_late, overdue_reason
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


# -- overdue: a launch not run by its due time + the operator's grace ------------------------

GRACE = timedelta(minutes=5)
PLAN_2 = PlanSettings(data_delay=timedelta(minutes=2))
START = date(2025, 1, 2)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def overdue(after: str, now: str, first_day: date = START) -> list[tuple[str, str]]:
    launches = became_overdue(MarketHoursManager(), utc(after), utc(now), PLAN_2, GRACE, first_day)
    return [(x.kind, x.partition_key) for x in launches]


def test_a_bar_turns_overdue_a_grace_after_its_due_time_and_says_so() -> None:
    # The 15:00 bar ends 15:30, due 15:32 with a 2-minute data delay, overdue after 15:37.
    assert overdue("2026-11-20T15:30-05:00", "2026-11-20T15:37-05:00") == []
    assert overdue("2026-11-20T15:37-05:00", "2026-11-20T15:37:01-05:00") == [
        ("cycle", "2026-11-20-15:00")
    ]
    market = MarketHoursManager()
    (launch,) = became_overdue(
        market, utc("2026-11-20T15:37-05:00"), utc("2026-11-20T15:38-05:00"), PLAN_2, GRACE, START
    )
    assert overdue_reason(market, launch, GRACE) == "due 15:32 ET, nothing by 15:37"


def test_nothing_is_overdue_on_a_holiday() -> None:
    # Thanksgiving: after Wednesday's EOD deadline (16:25) nothing turns late until Friday.
    assert overdue("2026-11-25T16:25:01-05:00", "2026-11-27T09:30-05:00") == []


def test_the_early_close_has_seven_bars_and_its_eod_at_13_20_plus_grace() -> None:
    late = overdue("2026-11-27T09:00-05:00", "2026-11-27T23:00-05:00")
    assert late == [
        *[("cycle", f"2026-11-27-{t}") for t in ("09:30", "10:00", "10:30", "11:00")],
        *[("cycle", f"2026-11-27-{t}") for t in ("11:30", "12:00", "12:30")],
        ("eod", "2026-11-27"),
    ]
    assert overdue("2026-11-27T13:20-05:00", "2026-11-27T13:25-05:00") == []
    assert overdue("2026-11-27T13:25-05:00", "2026-11-27T13:26-05:00") == [("eod", "2026-11-27")]


def test_on_the_first_edt_monday_the_first_bar_is_overdue_at_10_07_local() -> None:
    # 2026-03-09: the 09:30 bar ends 10:00 EDT (14:00Z), due 10:02, overdue after 10:07 EDT.
    assert overdue("2026-03-09T14:06:59Z", "2026-03-09T14:07:00Z") == []
    assert overdue("2026-03-09T14:07:00Z", "2026-03-09T14:07:01Z") == [
        ("cycle", "2026-03-09-09:30")
    ]
    market = MarketHoursManager()
    (launch,) = became_overdue(
        market, utc("2026-03-09T14:07:00Z"), utc("2026-03-09T14:08Z"), PLAN_2, GRACE, START
    )
    assert overdue_reason(market, launch, GRACE) == "due 10:02 ET, nothing by 10:07"


def test_nothing_before_partitions_start_is_overdue() -> None:
    friday, monday = "2026-11-20T09:00-05:00", "2026-11-23T23:00-05:00"
    assert {day[:10] for _, day in overdue(friday, monday)} == {"2026-11-20", "2026-11-23"}
    assert {day[:10] for _, day in overdue(friday, monday, date(2026, 11, 23))} == {"2026-11-23"}


def test_an_eod_whose_deadline_is_the_next_day_names_its_date() -> None:
    market = MarketHoursManager()
    plan = PlanSettings(eod_delay=timedelta(hours=8))  # due 00:00 the next day
    (launch,) = [
        x for x in became_overdue(
            market, utc("2026-11-20T09:00-05:00"), utc("2026-11-21T01:00-05:00"),
            plan, GRACE, START,
        ) if x.kind == "eod"
    ]  # fmt: skip
    assert overdue_reason(market, launch, GRACE) == "due 00:00 ET, nothing by 00:05"
