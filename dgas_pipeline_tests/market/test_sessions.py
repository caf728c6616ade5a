"""`MarketHoursManager` answers at fixed instants.

Every expected value below is written out by hand from the NYSE rules (09:30-16:00 ET, 13:00
early closes, observed holidays, US DST: EST = UTC-5, EDT = UTC-4), never computed by the code
under test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
import time_machine

from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market import MarketHoursManager
from dgas_pipeline.market.calendar import calendar_bounds

ET = ZoneInfo("America/New_York")


def z(text: str) -> datetime:
    """A UTC instant written as `2026-11-27T18:00Z` (seconds optional)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def et(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0, us: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, us, tzinfo=ET)


@pytest.fixture(scope="module")
def market() -> MarketHoursManager:
    return MarketHoursManager()


# -- what each day is ---------------------------------------------------------------------------

CLOSED_DAYS = [
    pytest.param(date(2026, 11, 26), "Thanksgiving", id="thanksgiving-2026"),
    pytest.param(date(2027, 11, 25), "Thanksgiving", id="thanksgiving-2027"),
    pytest.param(date(2026, 7, 3), "July 4", id="july-4-on-saturday-observed-friday-2026-07-03"),
    pytest.param(date(2027, 7, 5), "July 4", id="july-4-on-sunday-observed-monday-2027-07-05"),
    pytest.param(date(2026, 6, 19), "Juneteenth", id="juneteenth-2026-friday"),
    pytest.param(date(2027, 6, 18), "Juneteenth", id="juneteenth-on-saturday-observed-2027-06-18"),
    pytest.param(date(2026, 12, 25), "Christmas", id="christmas-2026"),
    pytest.param(date(2027, 12, 24), "Christmas", id="christmas-on-saturday-observed-2027-12-24"),
    pytest.param(date(2027, 1, 1), "New Year", id="new-year-2027"),
    pytest.param(date(2026, 11, 28), "weekend", id="saturday"),
    pytest.param(date(2026, 11, 29), "weekend", id="sunday"),
]


@pytest.mark.parametrize(("day", "reason"), CLOSED_DAYS)
def test_closed_day_has_no_open_no_close_and_says_why(
    market: MarketHoursManager, day: date, reason: str
) -> None:
    session = market.session(day)
    assert not session.is_trading_day
    assert not market.is_trading_day(day)
    assert (session.open, session.close, session.early_close) == (None, None, False)
    assert reason in session.reason


# (date, open UTC, close UTC, early close?, reason fragment or None)
TRADING_DAYS = [
    pytest.param(date(2026, 11, 27), "2026-11-27T14:30Z", "2026-11-27T18:00Z", True, None,
                 id="day-after-thanksgiving-closes-at-13-00-et"),
    pytest.param(date(2026, 12, 24), "2026-12-24T14:30Z", "2026-12-24T18:00Z", True,
                 "Christmas Eve", id="christmas-eve-closes-at-13-00-et"),
    pytest.param(date(2026, 12, 31), "2026-12-31T14:30Z", "2026-12-31T21:00Z", False, None,
                 id="new-years-eve-is-a-full-session"),
    pytest.param(date(2027, 1, 4), "2027-01-04T14:30Z", "2027-01-04T21:00Z", False, None,
                 id="first-session-of-2027"),
    pytest.param(date(2026, 7, 2), "2026-07-02T13:30Z", "2026-07-02T20:00Z", False, None,
                 id="thursday-before-observed-july-4-is-a-full-session"),
    pytest.param(date(2027, 7, 6), "2027-07-06T13:30Z", "2027-07-06T20:00Z", False, None,
                 id="tuesday-after-observed-july-4"),
    pytest.param(date(2027, 6, 21), "2027-06-21T13:30Z", "2027-06-21T20:00Z", False, None,
                 id="monday-after-observed-juneteenth"),
    # DST 2026: Sunday Mar 8 (EST -> EDT), Sunday Nov 1 (EDT -> EST).
    pytest.param(date(2026, 3, 6), "2026-03-06T14:30Z", "2026-03-06T21:00Z", False, None,
                 id="friday-before-spring-forward-2026-est"),
    pytest.param(date(2026, 3, 9), "2026-03-09T13:30Z", "2026-03-09T20:00Z", False, None,
                 id="monday-after-spring-forward-2026-edt"),
    pytest.param(date(2026, 10, 30), "2026-10-30T13:30Z", "2026-10-30T20:00Z", False, None,
                 id="friday-before-fall-back-2026-edt"),
    pytest.param(date(2026, 11, 2), "2026-11-02T14:30Z", "2026-11-02T21:00Z", False, None,
                 id="monday-after-fall-back-2026-est"),
    # DST 2027: Sunday Mar 14, Sunday Nov 7.
    pytest.param(date(2027, 3, 12), "2027-03-12T14:30Z", "2027-03-12T21:00Z", False, None,
                 id="friday-before-spring-forward-2027-est"),
    pytest.param(date(2027, 3, 15), "2027-03-15T13:30Z", "2027-03-15T20:00Z", False, None,
                 id="monday-after-spring-forward-2027-edt"),
    pytest.param(date(2027, 11, 5), "2027-11-05T13:30Z", "2027-11-05T20:00Z", False, None,
                 id="friday-before-fall-back-2027-edt"),
    pytest.param(date(2027, 11, 8), "2027-11-08T14:30Z", "2027-11-08T21:00Z", False, None,
                 id="monday-after-fall-back-2027-est"),
]  # fmt: skip


@pytest.mark.parametrize(("day", "opens", "closes", "early", "reason"), TRADING_DAYS)
def test_trading_day_opens_at_09_30_et_and_closes_at_16_00_or_13_00_et(
    market: MarketHoursManager, day: date, opens: str, closes: str, early: bool, reason: str | None
) -> None:
    session = market.session(day)
    assert session.is_trading_day
    assert (session.open, session.close, session.early_close) == (z(opens), z(closes), early)
    if early:
        assert session.reason
        if reason:
            assert reason in session.reason
    else:
        assert session.reason is None


def test_sessions_between_skips_thanksgiving_and_the_weekend(market: MarketHoursManager) -> None:
    days = [s.date for s in market.sessions_between(date(2026, 11, 23), date(2026, 11, 30))]
    assert days == [date(2026, 11, d) for d in (23, 24, 25, 27, 30)]


def test_sessions_between_crosses_the_year_end_skipping_christmas_and_new_year(
    market: MarketHoursManager,
) -> None:
    days = [s.date for s in market.sessions_between(date(2026, 12, 24), date(2027, 1, 5))]
    assert days == [
        date(2026, 12, 24),
        date(2026, 12, 28),
        date(2026, 12, 29),
        date(2026, 12, 30),
        date(2026, 12, 31),
        date(2027, 1, 4),
        date(2027, 1, 5),
    ]


# -- is the market open at this instant? -------------------------------------------------------

OPEN_AT = [
    pytest.param(z("2026-11-23T14:30Z"), True, id="exactly-at-the-open-is-open"),
    pytest.param(z("2026-11-23T14:29:59.999999Z"), False, id="a-microsecond-before-the-open"),
    pytest.param(z("2026-11-23T21:00Z"), False, id="exactly-at-the-close-is-closed"),
    pytest.param(z("2026-11-23T20:59:59.999999Z"), True, id="a-microsecond-before-the-close"),
    pytest.param(et(2026, 11, 23, 9, 30), True, id="09-30-et-given-in-et"),
    pytest.param(z("2026-11-27T18:00Z"), False, id="early-close-13-00-et-is-closed"),
    pytest.param(z("2026-11-27T17:59:59Z"), True, id="12-59-59-et-on-an-early-close"),
    pytest.param(et(2026, 11, 26, 12), False, id="thanksgiving-noon"),
    pytest.param(et(2026, 11, 28, 12), False, id="saturday-noon"),
    pytest.param(et(2026, 7, 3, 12), False, id="observed-july-4-noon"),
    pytest.param(et(2026, 11, 24, 23, 59, 59), False, id="23-59-59-et"),
    pytest.param(et(2026, 11, 25), False, id="midnight-et"),
    pytest.param(z("2026-03-09T13:30Z"), True, id="13-30z-is-the-open-in-summer"),
    pytest.param(z("2026-03-06T13:30Z"), False, id="13-30z-is-08-30-et-in-winter"),
    pytest.param(z("2026-11-02T20:30Z"), True, id="20-30z-is-15-30-et-in-winter"),
    pytest.param(z("2026-10-30T20:30Z"), False, id="20-30z-is-16-30-et-in-summer"),
]


@pytest.mark.parametrize(("at", "is_open"), OPEN_AT)
def test_market_is_open_from_the_open_inclusive_to_the_close_exclusive(
    market: MarketHoursManager, at: datetime, is_open: bool
) -> None:
    assert market.is_market_open(at) is is_open
    assert (market.session_at(at) is not None) is is_open


def test_session_at_names_the_session_in_progress(market: MarketHoursManager) -> None:
    session = market.session_at(z("2026-11-27T17:00Z"))
    assert session is not None
    assert session.date == date(2026, 11, 27)
    assert session.early_close


# -- midnight: 23:59:59 ET is already tomorrow in UTC ---------------------------------------------

MIDNIGHTS = [
    pytest.param(et(2026, 11, 25, 23, 59, 59), "2026-11-26T04:59:59Z", date(2026, 11, 25),
                 id="winter-23-59-59-et-is-04-59-59z-next-day"),
    pytest.param(et(2026, 11, 26), "2026-11-26T05:00Z", date(2026, 11, 26),
                 id="winter-midnight-et-is-05-00z"),
    pytest.param(et(2026, 7, 2, 23, 59, 59), "2026-07-03T03:59:59Z", date(2026, 7, 2),
                 id="summer-23-59-59-et-is-03-59-59z-next-day"),
    pytest.param(et(2026, 7, 3), "2026-07-03T04:00Z", date(2026, 7, 3),
                 id="summer-midnight-et-is-04-00z"),
]  # fmt: skip


@pytest.mark.parametrize(("at", "in_utc", "local_date"), MIDNIGHTS)
def test_exchange_local_date_near_midnight_is_not_the_utc_date(
    market: MarketHoursManager, at: datetime, in_utc: str, local_date: date
) -> None:
    assert at.astimezone(UTC) == z(in_utc)
    assert market.local(z(in_utc)).date() == local_date
    assert market.is_market_open(at) is False
    assert market.session_at(at) is None


# -- the next open and the next close --------------------------------------------------------------

NEXT_OPEN = [
    pytest.param(et(2026, 11, 20, 16), "2026-11-23T14:30Z", id="friday-at-the-close-to-monday"),
    pytest.param(et(2026, 11, 20, 20), "2026-11-23T14:30Z", id="friday-evening-to-monday"),
    pytest.param(et(2026, 11, 21, 12), "2026-11-23T14:30Z", id="saturday-to-monday"),
    pytest.param(et(2026, 11, 23, 9, 30), "2026-11-24T14:30Z",
                 id="exactly-at-the-open-is-tomorrows-open"),
    pytest.param(et(2026, 11, 23, 9, 29, 59, 999999), "2026-11-23T14:30Z",
                 id="a-microsecond-before-the-open-is-todays-open"),
    pytest.param(et(2026, 11, 25, 16), "2026-11-27T14:30Z", id="wednesday-skips-thanksgiving"),
    pytest.param(et(2026, 11, 25, 23, 59, 59), "2026-11-27T14:30Z",
                 id="wednesday-23-59-59-et-skips-thanksgiving"),
    pytest.param(et(2026, 11, 26), "2026-11-27T14:30Z", id="thanksgiving-midnight-et"),
    pytest.param(et(2026, 11, 27, 13), "2026-11-30T14:30Z", id="after-the-early-close"),
    pytest.param(et(2026, 12, 24, 13), "2026-12-28T14:30Z", id="christmas-eve-to-monday"),
    pytest.param(et(2026, 12, 31, 16), "2027-01-04T14:30Z", id="new-years-eve-to-jan-4"),
    pytest.param(et(2027, 1, 1, 12), "2027-01-04T14:30Z", id="new-years-day-to-jan-4"),
    pytest.param(et(2026, 7, 2, 16), "2026-07-06T13:30Z", id="before-observed-july-4-2026"),
    pytest.param(et(2027, 7, 2, 16), "2027-07-06T13:30Z", id="before-observed-july-4-2027"),
    pytest.param(et(2026, 6, 18, 16), "2026-06-22T13:30Z", id="before-juneteenth-2026"),
    pytest.param(et(2027, 6, 17, 16), "2027-06-21T13:30Z", id="before-juneteenth-2027"),
    pytest.param(et(2026, 3, 6, 16), "2026-03-09T13:30Z", id="across-spring-forward-2026"),
    pytest.param(et(2026, 10, 30, 16), "2026-11-02T14:30Z", id="across-fall-back-2026"),
    pytest.param(et(2027, 3, 12, 16), "2027-03-15T13:30Z", id="across-spring-forward-2027"),
    pytest.param(et(2027, 11, 5, 16), "2027-11-08T14:30Z", id="across-fall-back-2027"),
]  # fmt: skip


@pytest.mark.parametrize(("at", "expected"), NEXT_OPEN)
def test_next_market_open_is_the_first_open_strictly_after(
    market: MarketHoursManager, at: datetime, expected: str
) -> None:
    assert market.next_market_open(at) == z(expected)
    assert market.next_open_in_calendar(at) == z(expected)


def test_next_open_in_calendar_is_none_once_the_calendar_has_no_later_open() -> None:
    """A process built on 2026-11-26 covers up to 2028-12-31; its last session is Friday
    2028-12-29, so from that open on the next one is unknown (next_market_open refuses)."""
    with time_machine.travel(datetime(2026, 11, 26, 12, tzinfo=UTC), tick=False):
        market = MarketHoursManager()
    last_open = z("2028-12-29T14:30Z")
    asked = [
        (last_open - timedelta(seconds=1), last_open),
        (last_open, None),
        (et(2028, 12, 29, 16), None),
        (et(2028, 12, 31, 23, 59), None),
        (et(2099, 1, 1), None),
    ]
    for at, expected in asked:
        assert market.next_open_in_calendar(at) == expected, at
    with pytest.raises(InvalidInput):
        market.next_market_open(last_open)


NEXT_CLOSE = [
    pytest.param(et(2026, 11, 23, 9, 30), "2026-11-23T21:00Z", id="at-the-open-is-todays-close"),
    pytest.param(et(2026, 11, 23, 16), "2026-11-24T21:00Z",
                 id="exactly-at-the-close-is-tomorrows-close"),
    pytest.param(et(2026, 11, 27, 10), "2026-11-27T18:00Z", id="early-close-at-13-00-et"),
    pytest.param(et(2026, 11, 25, 17), "2026-11-27T18:00Z", id="skips-thanksgiving"),
    pytest.param(et(2026, 3, 6, 17), "2026-03-09T20:00Z", id="across-spring-forward"),
]  # fmt: skip


@pytest.mark.parametrize(("at", "expected"), NEXT_CLOSE)
def test_next_market_close_is_the_first_close_strictly_after(
    market: MarketHoursManager, at: datetime, expected: str
) -> None:
    assert market.next_market_close(at) == z(expected)


def test_previous_session_of_monday_after_thanksgiving_week_is_the_early_close(
    market: MarketHoursManager,
) -> None:
    previous = market.previous_session(date(2026, 11, 30))
    assert previous is not None
    assert (previous.date, previous.close) == (date(2026, 11, 27), z("2026-11-27T18:00Z"))


# -- bars of a session --------------------------------------------------------------------------

BARS = [
    pytest.param(date(2026, 11, 23), 30, 13, "15:30", "16:00", id="30min-13-bars"),
    pytest.param(date(2026, 11, 23), 15, 26, "15:45", "16:00", id="15min-26-bars"),
    pytest.param(date(2026, 11, 23), 60, 7, "15:30", "16:00", id="1h-last-bar-cut-at-16-00"),
    pytest.param(date(2026, 11, 23), 45, 9, "15:30", "16:00", id="45min-last-bar-cut-at-16-00"),
    pytest.param(date(2026, 11, 27), 30, 7, "12:30", "13:00", id="30min-early-close"),
    pytest.param(date(2026, 11, 27), 60, 4, "12:30", "13:00", id="1h-early-close"),
    pytest.param(date(2026, 11, 27), 45, 5, "12:30", "13:00", id="45min-early-close"),
    pytest.param(date(2026, 11, 26), 30, 0, None, None, id="thanksgiving-has-no-bars"),
]  # fmt: skip


@pytest.mark.parametrize(("day", "minutes", "count", "last_start", "last_end"), BARS)
def test_bars_step_from_the_open_and_the_last_is_cut_at_the_close(
    market: MarketHoursManager,
    day: date,
    minutes: int,
    count: int,
    last_start: str | None,
    last_end: str | None,
) -> None:
    bars = market.session_intervals(day, timedelta(minutes=minutes))
    assert len(bars) == count
    if count:
        assert market.local(bars[0][0]).strftime("%H:%M") == "09:30"
        assert market.local(bars[-1][0]).strftime("%H:%M") == last_start
        assert market.local(bars[-1][1]).strftime("%H:%M") == last_end
        assert all(end == nxt for (_, end), (nxt, _) in pairwise(bars))


def test_bars_of_45min_start_at_09_30_10_15_11_00(market: MarketHoursManager) -> None:
    starts = [
        market.local(s).strftime("%H:%M")
        for s, _ in market.session_intervals(date(2026, 11, 23), timedelta(minutes=45))
    ]
    assert starts == [
        "09:30",
        "10:15",
        "11:00",
        "11:45",
        "12:30",
        "13:15",
        "14:00",
        "14:45",
        "15:30",
    ]


def test_non_positive_bar_interval_is_rejected(market: MarketHoursManager) -> None:
    with pytest.raises(InvalidInput) as err:
        market.session_intervals(date(2026, 11, 23), timedelta(0))
    assert err.value.field == "interval"


# -- bad input ----------------------------------------------------------------------------------

NAIVE = datetime(2026, 11, 27, 10, 0)  # naive: the point of the test


@pytest.mark.parametrize(
    "ask",
    [
        MarketHoursManager.is_market_open,
        MarketHoursManager.session_at,
        MarketHoursManager.next_market_open,
        MarketHoursManager.next_open_in_calendar,
        MarketHoursManager.next_market_close,
        MarketHoursManager.local,
    ],
    ids=lambda f: f.__name__,
)
def test_naive_datetime_is_rejected_naming_the_field(market: MarketHoursManager, ask) -> None:
    with pytest.raises(InvalidInput) as err:
        ask(market, NAIVE)
    assert err.value.field == "at"
    assert "2026-11-27T10:00:00" in str(err.value)
    assert "naive" in str(err.value)


@pytest.mark.parametrize("day", [date(1990, 1, 2), date(2100, 1, 4)], ids=str)
def test_date_outside_the_calendar_is_bad_input_not_an_empty_answer(
    market: MarketHoursManager, day: date
) -> None:
    with pytest.raises(InvalidInput) as err:
        market.session(day)
    assert (err.value.field, err.value.value) == ("date", day.isoformat())
    inside = date(2026, 1, 5)
    start, end, field = (inside, day, "end") if day > inside else (day, inside, "start")
    with pytest.raises(InvalidInput) as err:
        market.sessions_between(start, end)
    assert err.value.field == field


# -- the calendar's range -----------------------------------------------------------------------


def test_calendar_covers_its_fixed_first_day_to_two_years_ahead() -> None:
    assert calendar_bounds(today=date(2026, 11, 26)) == (date(2016, 1, 1), date(2028, 12, 31))
    assert calendar_bounds(today=date(2027, 1, 2)) == (date(2016, 1, 1), date(2029, 12, 31))
    assert calendar_bounds(date(1999, 1, 4), today=date(2027, 1, 2)) == (
        date(1999, 1, 4),
        date(2029, 12, 31),
    )


def test_a_manager_answers_for_exactly_the_range_its_calendar_was_built_for() -> None:
    with time_machine.travel(datetime(2026, 11, 26, 12, tzinfo=UTC), tick=False):
        before = MarketHoursManager()
    with time_machine.travel(datetime(2027, 1, 2, 12, tzinfo=UTC), tick=False):
        # A process started in 2026 and still running in 2027 keeps its own range ...
        assert before.last_day == date(2028, 12, 31)
        # ... and one built in 2027 really covers 2029 (Monday 2029-12-31 is a session).
        after = MarketHoursManager()
        assert after.last_day == date(2029, 12, 31)
        assert after.session(date(2029, 12, 31)).open == z("2029-12-31T14:30Z")
