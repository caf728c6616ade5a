"""The launch planner (DESIGN.md §3) as answer tables at fixed instants.

Expected keys and UTC times are written out by hand: 09:30 ET is 14:30Z in winter (EST) and
13:30Z in summer (EDT); a 30min bar's cycle is due at its end plus the data delay; the EOD at
the close plus 20 minutes by default.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market import (
    Launch,
    MarketHoursManager,
    PlanSettings,
    cycle_partition_key,
    launches_due,
    next_launch,
    parse_cycle_partition_key,
    plan_launches,
)

ET = ZoneInfo("America/New_York")
DEFAULT = PlanSettings()
DELAY_2 = PlanSettings(data_delay=timedelta(minutes=2))


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def et(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=ET)


@pytest.fixture(scope="module")
def market() -> MarketHoursManager:
    return MarketHoursManager()


def plan_of(
    market: MarketHoursManager, day: date, settings: PlanSettings = DEFAULT
) -> list[Launch]:
    return plan_launches(market, day, day, settings)


def cycles(launches: list[Launch]) -> list[Launch]:
    return [x for x in launches if x.kind == "cycle"]


# -- DST: the UTC due time moves by an hour, the exchange-local key does not ---------------------

# (session, first cycle key, first bar start, first due, last bar end, EOD due)
DST = [
    pytest.param(date(2026, 3, 6), "2026-03-06-09:30", "14:30", "15:00", "21:00", "21:20",
                 id="2026-03-06-friday-before-spring-forward-est"),
    pytest.param(date(2026, 3, 9), "2026-03-09-09:30", "13:30", "14:00", "20:00", "20:20",
                 id="2026-03-09-monday-after-spring-forward-edt"),
    pytest.param(date(2026, 10, 30), "2026-10-30-09:30", "13:30", "14:00", "20:00", "20:20",
                 id="2026-10-30-friday-before-fall-back-edt"),
    pytest.param(date(2026, 11, 2), "2026-11-02-09:30", "14:30", "15:00", "21:00", "21:20",
                 id="2026-11-02-monday-after-fall-back-est"),
    pytest.param(date(2027, 3, 12), "2027-03-12-09:30", "14:30", "15:00", "21:00", "21:20",
                 id="2027-03-12-friday-before-spring-forward-est"),
    pytest.param(date(2027, 3, 15), "2027-03-15-09:30", "13:30", "14:00", "20:00", "20:20",
                 id="2027-03-15-monday-after-spring-forward-edt"),
    pytest.param(date(2027, 11, 5), "2027-11-05-09:30", "13:30", "14:00", "20:00", "20:20",
                 id="2027-11-05-friday-before-fall-back-edt"),
    pytest.param(date(2027, 11, 8), "2027-11-08-09:30", "14:30", "15:00", "21:00", "21:20",
                 id="2027-11-08-monday-after-fall-back-est"),
]  # fmt: skip


@pytest.mark.parametrize(("day", "key", "bar_start", "due", "last_end", "eod_due"), DST)
def test_cycle_due_time_in_utc_follows_dst_while_the_key_stays_09_30(
    market: MarketHoursManager,
    day: date,
    key: str,
    bar_start: str,
    due: str,
    last_end: str,
    eod_due: str,
) -> None:
    plan = plan_of(market, day)
    first, last, eod = plan[0], cycles(plan)[-1], plan[-1]
    iso = day.isoformat()
    assert (first.kind, first.partition_key) == ("cycle", key)
    assert first.bar_start == z(f"{iso}T{bar_start}Z")
    assert first.due == z(f"{iso}T{due}Z")
    assert last.partition_key == f"{iso}-15:30"
    assert last.bar_end == z(f"{iso}T{last_end}Z")
    assert (eod.kind, eod.partition_key, eod.due) == ("eod", iso, z(f"{iso}T{eod_due}Z"))
    assert len(cycles(plan)) == 13


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(date(2026, 3, 6), date(2026, 3, 9), id="spring-forward-2026-03-08"),
        pytest.param(date(2026, 10, 30), date(2026, 11, 2), id="fall-back-2026-11-01"),
        pytest.param(date(2027, 3, 12), date(2027, 3, 15), id="spring-forward-2027-03-14"),
        pytest.param(date(2027, 11, 5), date(2027, 11, 8), id="fall-back-2027-11-07"),
    ],
)
def test_across_a_dst_switch_keys_keep_their_wall_clock_and_dues_shift_one_hour(
    market: MarketHoursManager, before: date, after: date
) -> None:
    a, b = cycles(plan_of(market, before)), cycles(plan_of(market, after))
    assert [x.partition_key[11:] for x in a] == [x.partition_key[11:] for x in b]
    shifts = {(y.due - x.due) - (after - before) for x, y in zip(a, b, strict=True)}
    assert len(shifts) == 1
    assert abs(shifts.pop()) == timedelta(hours=1)


# -- Thanksgiving week ----------------------------------------------------------------------------


def test_thanksgiving_week_plans_nothing_on_thanksgiving(market: MarketHoursManager) -> None:
    plan = plan_launches(market, date(2026, 11, 23), date(2026, 11, 30), DELAY_2)
    per_day: dict[date, int] = {}
    for launch in plan:
        per_day[launch.session] = per_day.get(launch.session, 0) + 1
    assert per_day == {
        date(2026, 11, 23): 14,
        date(2026, 11, 24): 14,
        date(2026, 11, 25): 14,
        date(2026, 11, 27): 8,
        date(2026, 11, 30): 14,
    }


# (session, last bar end = 13:00 ET, EOD due = 13:20 ET), in UTC
EARLY_CLOSES = [
    pytest.param(date(2026, 11, 27), "2026-11-27T18:00Z", "2026-11-27T18:20Z",
                 id="day-after-thanksgiving"),
    pytest.param(date(2026, 12, 24), "2026-12-24T18:00Z", "2026-12-24T18:20Z",
                 id="christmas-eve"),
]  # fmt: skip


@pytest.mark.parametrize(("day", "close", "eod_due"), EARLY_CLOSES)
def test_early_close_day_has_seven_cycles_from_09_30_to_12_30_ending_at_13_00(
    market: MarketHoursManager, day: date, close: str, eod_due: str
) -> None:
    bars = cycles(plan_of(market, day))
    starts = ["09:30", "10:00", "10:30", "11:00", "11:30", "12:00", "12:30"]
    assert [x.partition_key for x in bars] == [f"{day.isoformat()}-{hhmm}" for hhmm in starts]
    assert bars[-1].bar_end == z(close)


@pytest.mark.parametrize(("day", "close", "eod_due"), EARLY_CLOSES)
def test_eod_of_early_close_is_due_at_13_20_et_by_default(
    market: MarketHoursManager, day: date, close: str, eod_due: str
) -> None:
    eod = plan_of(market, day)[-1]
    assert (eod.kind, eod.partition_key) == ("eod", day.isoformat())
    assert eod.due == z(eod_due)
    assert eod.bar_start is None and eod.bar_end is None


def test_last_bar_of_early_close_ends_at_13_00(market: MarketHoursManager) -> None:
    last = cycles(plan_of(market, date(2026, 11, 27), DELAY_2))[-1]
    assert last.bar_start == z("2026-11-27T17:30Z")  # 12:30 ET
    assert last.bar_end == z("2026-11-27T18:00Z")  # 13:00 ET
    assert last.due == z("2026-11-27T18:02Z")


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 11, 26),
        date(2026, 11, 28),
        date(2026, 7, 3),
        date(2027, 7, 5),
        date(2026, 6, 19),
        date(2027, 6, 18),
        date(2026, 12, 25),
        date(2027, 1, 1),
    ],
    ids=str,
)
def test_non_sessions_yield_no_launches(market: MarketHoursManager, day: date) -> None:
    assert plan_of(market, day) == []


def test_year_end_plans_dec_31_in_full_and_resumes_on_jan_4(market: MarketHoursManager) -> None:
    plan = plan_launches(market, date(2026, 12, 31), date(2027, 1, 4), DEFAULT)
    assert {x.session for x in plan} == {date(2026, 12, 31), date(2027, 1, 4)}
    assert len(plan) == 28
    jan4 = [x for x in plan if x.session == date(2027, 1, 4)]
    assert jan4[0].bar_start == z("2027-01-04T14:30Z")


# -- intervals ------------------------------------------------------------------------------------

# (interval minutes, session, bar starts ET, last bar as "HH:MM-HH:MM" ET)
INTERVALS = [
    pytest.param(15, date(2026, 11, 23), 26, "15:45-16:00", id="15min"),
    pytest.param(30, date(2026, 11, 23), 13, "15:30-16:00", id="30min"),
    pytest.param(60, date(2026, 11, 23), 7, "15:30-16:00", id="1h-last-bar-15-30-to-16-00"),
    pytest.param(45, date(2026, 11, 23), 9, "15:30-16:00", id="45min-last-bar-cut-at-16-00"),
    pytest.param(15, date(2026, 11, 27), 14, "12:45-13:00", id="15min-early-close"),
    pytest.param(60, date(2026, 11, 27), 4, "12:30-13:00", id="1h-early-close"),
    pytest.param(45, date(2026, 11, 27), 5, "12:30-13:00", id="45min-early-close"),
]


@pytest.mark.parametrize(("minutes", "day", "count", "last_bar"), INTERVALS)
def test_cycles_per_interval_and_the_last_bar_is_cut_at_the_close(
    market: MarketHoursManager, minutes: int, day: date, count: int, last_bar: str
) -> None:
    bars = cycles(plan_of(market, day, PlanSettings(interval=timedelta(minutes=minutes))))
    assert len(bars) == count
    last = bars[-1]
    assert f"{last.bar_start.astimezone(ET):%H:%M}-{last.bar_end.astimezone(ET):%H:%M}" == last_bar
    assert last.partition_key == f"{day.isoformat()}-{last_bar[:5]}"


def test_45min_bars_start_at_09_30_10_15_11_00(market: MarketHoursManager) -> None:
    settings = PlanSettings(interval=timedelta(minutes=45))
    keys = [x.partition_key[11:] for x in cycles(plan_of(market, date(2026, 11, 23), settings))]
    assert keys == ["09:30", "10:15", "11:00", "11:45", "12:30", "13:15", "14:00", "14:45", "15:30"]


# -- keys, run keys, JSON, order ---------------------------------------------------------------


def test_run_keys_are_kind_colon_partition_key(market: MarketHoursManager) -> None:
    plan = plan_of(market, date(2026, 11, 27))
    assert plan[-2].run_key == "cycle:2026-11-27-12:30"
    assert plan[-1].run_key == "eod:2026-11-27"


def test_cycle_json_has_bar_fields_and_eod_json_has_none(market: MarketHoursManager) -> None:
    plan = plan_of(market, date(2026, 11, 27), DELAY_2)
    assert plan[-2].to_json() == {
        "kind": "cycle",
        "partition_key": "2026-11-27-12:30",
        "bar_start": "2026-11-27T17:30:00Z",
        "bar_end": "2026-11-27T18:00:00Z",
        "due": "2026-11-27T18:02:00Z",
    }
    assert plan[-1].to_json() == {
        "kind": "eod",
        "partition_key": "2026-11-27",
        "due": "2026-11-27T18:20:00Z",
    }


def test_cycle_and_eod_due_at_the_same_instant_sort_cycle_first(
    market: MarketHoursManager,
) -> None:
    plan = plan_of(market, date(2026, 11, 23), PlanSettings(eod_delay=timedelta(0)))
    assert [(x.run_key, x.due) for x in plan[-2:]] == [
        ("cycle:2026-11-23-15:30", z("2026-11-23T21:00Z")),
        ("eod:2026-11-23", z("2026-11-23T21:00Z")),
    ]


def test_eod_due_before_the_last_cycle_sorts_before_it(market: MarketHoursManager) -> None:
    settings = PlanSettings(data_delay=timedelta(minutes=30), eod_delay=timedelta(minutes=20))
    plan = plan_of(market, date(2026, 11, 23), settings)
    assert [x.run_key for x in plan[-2:]] == ["eod:2026-11-23", "cycle:2026-11-23-15:30"]


def test_plan_over_weeks_is_sorted_by_due_then_kind_and_never_looks_ahead(
    market: MarketHoursManager,
) -> None:
    plan = plan_launches(market, date(2026, 10, 26), date(2026, 11, 6), DELAY_2)
    assert plan == sorted(plan, key=lambda x: (x.due, x.kind))
    assert all(x.due >= x.bar_end for x in cycles(plan))


CYCLE_KEYS = [
    pytest.param("2026-03-06-09:30", "2026-03-06T14:30Z", id="winter-09-30-is-14-30z"),
    pytest.param("2026-03-09-09:30", "2026-03-09T13:30Z", id="summer-09-30-is-13-30z"),
    pytest.param("2026-11-27-12:30", "2026-11-27T17:30Z", id="early-close-last-bar"),
    pytest.param("2027-11-08-15:30", "2027-11-08T20:30Z", id="winter-15-30-is-20-30z"),
]


@pytest.mark.parametrize(("key", "bar_start"), CYCLE_KEYS)
def test_cycle_key_is_the_exchange_local_bar_start_both_ways(
    market: MarketHoursManager, key: str, bar_start: str
) -> None:
    assert parse_cycle_partition_key(market, key) == z(bar_start)
    assert cycle_partition_key(market, z(bar_start)) == key


@pytest.mark.parametrize("key", ["2026-11-27 12:30", "2026-11-27", "2026-11-27-25:00", ""])
def test_malformed_cycle_key_is_rejected_with_the_key(market: MarketHoursManager, key: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_cycle_partition_key(market, key)
    assert (err.value.field, err.value.value) == ("partition_key", key)


# -- launches_due(after, upto]: what a sensor tick owes ------------------------------------------

DUE = [
    pytest.param("2026-11-27T14:59Z", "2026-11-27T15:00Z", DEFAULT,
                 ["cycle:2026-11-27-09:30"], id="due-exactly-at-upto-is-included"),
    pytest.param("2026-11-27T15:00Z", "2026-11-27T15:29:59Z", DEFAULT,
                 [], id="due-exactly-at-after-is-excluded"),
    pytest.param("2026-11-27T15:00Z", "2026-11-27T15:30Z", DEFAULT,
                 ["cycle:2026-11-27-10:00"], id="one-tick-one-cycle"),
    pytest.param("2026-11-27T17:59Z", "2026-11-27T18:20Z", DEFAULT,
                 ["cycle:2026-11-27-12:30", "eod:2026-11-27"], id="last-cycle-then-eod"),
    pytest.param("2026-11-27T18:00Z", "2026-11-27T18:02Z", DELAY_2,
                 ["cycle:2026-11-27-12:30"], id="data-delay-2-due-18-02z"),
    pytest.param("2026-11-27T18:00Z", "2026-11-27T18:00Z", DEFAULT,
                 [], id="empty-window"),
    pytest.param("2026-11-27T19:00Z", "2026-11-27T15:00Z", DEFAULT,
                 [], id="upto-before-after"),
    pytest.param("2026-11-25T21:00Z", "2026-11-27T15:00Z", DEFAULT,
                 ["eod:2026-11-25", "cycle:2026-11-27-09:30"], id="over-thanksgiving"),
    pytest.param("2026-11-02T14:00Z", "2026-11-02T15:00Z", DEFAULT,
                 ["cycle:2026-11-02-09:30"], id="first-monday-of-est-first-due-15-00z"),
    pytest.param("2026-03-09T13:00Z", "2026-03-09T14:00Z", DEFAULT,
                 ["cycle:2026-03-09-09:30"], id="first-monday-of-edt-first-due-14-00z"),
    pytest.param("2026-12-31T20:59Z", "2027-01-04T15:00Z", DEFAULT,
                 ["cycle:2026-12-31-15:30", "eod:2026-12-31", "cycle:2027-01-04-09:30"],
                 id="across-new-year"),
]  # fmt: skip


@pytest.mark.parametrize(("after", "upto", "settings", "run_keys"), DUE)
def test_launches_due_is_half_open_after_exclusive_upto_inclusive(
    market: MarketHoursManager, after: str, upto: str, settings: PlanSettings, run_keys: list[str]
) -> None:
    due = launches_due(market, z(after), z(upto), settings)
    assert [x.run_key for x in due] == run_keys


@pytest.mark.parametrize("field", ["after", "upto"])
def test_launches_due_rejects_a_naive_datetime_naming_the_field(
    market: MarketHoursManager, field: str
) -> None:
    aware, naive = z("2026-11-27T15:00Z"), datetime(2026, 11, 27, 15)
    args = {"after": aware, "upto": aware + timedelta(hours=1), field: naive}
    with pytest.raises(InvalidInput) as err:
        launches_due(market, args["after"], args["upto"], DEFAULT)
    assert err.value.field == field


# -- next_launch ----------------------------------------------------------------------------------

NEXT = [
    pytest.param("2026-11-25T21:20Z", DEFAULT, "cycle:2026-11-27-09:30", "2026-11-27T15:00Z",
                 id="after-wednesday-eod-skips-thanksgiving"),
    pytest.param(et(2026, 11, 25, 23, 59, 59), DEFAULT, "cycle:2026-11-27-09:30",
                 "2026-11-27T15:00Z", id="wednesday-23-59-59-et"),
    pytest.param("2026-11-27T18:00Z", DEFAULT, "eod:2026-11-27", "2026-11-27T18:20Z",
                 id="at-the-last-cycles-due-the-eod-is-next"),
    pytest.param("2026-11-27T18:00Z", DELAY_2, "cycle:2026-11-27-12:30", "2026-11-27T18:02Z",
                 id="with-data-delay-the-last-cycle-is-still-ahead"),
    pytest.param("2026-12-24T18:20Z", DEFAULT, "cycle:2026-12-28-09:30", "2026-12-28T15:00Z",
                 id="christmas-eve-to-monday"),
    pytest.param("2026-12-31T21:20Z", DEFAULT, "cycle:2027-01-04-09:30", "2027-01-04T15:00Z",
                 id="new-years-eve-to-jan-4"),
    pytest.param("2026-07-02T20:20Z", DEFAULT, "cycle:2026-07-06-09:30", "2026-07-06T14:00Z",
                 id="over-observed-july-4"),
    pytest.param("2026-03-06T21:20Z", DEFAULT, "cycle:2026-03-09-09:30", "2026-03-09T14:00Z",
                 id="over-spring-forward"),
    pytest.param("2026-10-30T20:20Z", DEFAULT, "cycle:2026-11-02-09:30", "2026-11-02T15:00Z",
                 id="over-fall-back"),
]  # fmt: skip


@pytest.mark.parametrize(("after", "settings", "run_key", "due"), NEXT)
def test_next_launch_is_the_first_due_strictly_after(
    market: MarketHoursManager,
    after: str | datetime,
    settings: PlanSettings,
    run_key: str,
    due: str,
) -> None:
    at = z(after) if isinstance(after, str) else after
    launch = next_launch(market, at, settings)
    assert launch is not None
    assert (launch.run_key, launch.due) == (run_key, z(due))


def test_next_launch_rejects_a_naive_datetime(market: MarketHoursManager) -> None:
    with pytest.raises(InvalidInput) as err:
        next_launch(market, datetime(2026, 11, 27, 15), DEFAULT)
    assert err.value.field == "after"


# -- bad settings ---------------------------------------------------------------------------------


def test_end_before_start_is_rejected_naming_end(market: MarketHoursManager) -> None:
    with pytest.raises(InvalidInput) as err:
        plan_launches(market, date(2026, 11, 30), date(2026, 11, 23), DEFAULT)
    assert (err.value.field, err.value.value) == ("end", "2026-11-23")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"interval": timedelta(0)}, "interval"),
        ({"data_delay": timedelta(minutes=-1)}, "data_delay"),
        ({"eod_delay": timedelta(minutes=-5)}, "eod_delay"),
    ],
    ids=["zero-interval", "negative-data-delay", "negative-eod-delay"],
)
def test_bad_plan_settings_are_rejected_naming_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        PlanSettings(**kwargs)
    assert err.value.field == field
