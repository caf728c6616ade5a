"""What a market-clock tick owes (DESIGN.md §8), as answer tables at fixed instants.

Written out by hand from the NYSE rules: a 30min bar's cycle is due at its end plus the data
delay (2 min here unless said otherwise), the EOD at the close plus 20 minutes; 2026-11-26 is
Thanksgiving, 2026-11-27 closes at 13:00; 2026-03-09 is the first Monday of EDT (09:30 ET is
13:30Z), 2026-11-02 the first Monday of EST again (09:30 ET is 14:30Z).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market import MarketHoursManager, PlanSettings
from dgas_pipeline.market.ticks import TickPlan, TickRequest, catchup_floor, plan_tick

ET = ZoneInfo("America/New_York")
DELAY_2 = PlanSettings(data_delay=timedelta(minutes=2))
NO_DELAY = PlanSettings()
STALE_AFTER = timedelta(minutes=60)
BARS = ("09:30", "10:00", "10:30", "11:00", "11:30", "12:00", "12:30")
BARS += ("13:00", "13:30", "14:00", "14:30", "15:00", "15:30")


def et(text: str) -> datetime:
    """`2026-11-20 10:02[:ss]` read as New York wall time."""
    return datetime.fromisoformat(text).replace(tzinfo=ET)


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@pytest.fixture(scope="module")
def market() -> MarketHoursManager:
    return MarketHoursManager()


def tick(
    market: MarketHoursManager,
    after: datetime | None,
    now: datetime,
    plan: PlanSettings = DELAY_2,
    catchup_sessions: int = 5,
) -> TickPlan:
    return plan_tick(
        market, after, now, plan, catchup_sessions=catchup_sessions, stale_after=STALE_AFTER
    )


def keys_of(result: TickPlan) -> list[str]:
    return [r.run_key for r in result.requests]


def session_keys(day: str, bars: tuple[str, ...] = BARS) -> tuple[str, ...]:
    return tuple(f"{day}-{bar}" for bar in bars)


# -- before the open, the first tick, the same instant twice --------------------------------------


def test_before_the_open_says_when_the_first_cycle_is_due_and_for_which_bar(
    market: MarketHoursManager,
) -> None:
    result = tick(market, et("2026-11-20 08:59:30"), et("2026-11-20 09:00"))
    assert result.requests == []
    assert result.skip_reason == "next cycle 2026-11-20 10:02 ET (2026-11-20-09:30)"


def test_before_the_open_without_data_delay_the_first_cycle_is_due_at_10_00(
    market: MarketHoursManager,
) -> None:
    result = tick(market, et("2026-11-20 08:59:30"), et("2026-11-20 09:00"), NO_DELAY)
    assert result.skip_reason == "next cycle 2026-11-20 10:00 ET (2026-11-20-09:30)"


def test_the_first_tick_has_no_cursor_and_owes_nothing_even_at_a_due_time(
    market: MarketHoursManager,
) -> None:
    result = tick(market, None, et("2026-11-20 10:02"))
    assert result.requests == []
    assert result.skip_reason == "next cycle 2026-11-20 10:32 ET (2026-11-20-10:00)"


def test_a_tick_evaluated_twice_at_the_same_instant_owes_nothing_the_second_time(
    market: MarketHoursManager,
) -> None:
    now = et("2026-11-20 10:02")
    first = tick(market, et("2026-11-20 10:01:30"), now)
    assert keys_of(first) == ["cycle:2026-11-20-09:30"]
    second = tick(market, now, now)
    assert second.requests == []
    assert second.skip_reason == "next cycle 2026-11-20 10:32 ET (2026-11-20-10:00)"


def test_a_cursor_ahead_of_now_owes_nothing(market: MarketHoursManager) -> None:
    assert tick(market, et("2026-11-20 10:05"), et("2026-11-20 10:02")).requests == []


def test_naive_instants_are_rejected(market: MarketHoursManager) -> None:
    with pytest.raises(InvalidInput, match="now"):
        tick(market, None, datetime(2026, 11, 20, 10, 2))
    with pytest.raises(InvalidInput, match="after"):
        tick(market, datetime(2026, 11, 20, 10, 1), et("2026-11-20 10:02"))


# -- each bar close of a regular session (Friday 2026-11-20, EST), data delay 2 min ---------------

# (tick at, what it owes): every tick 30 s after the previous one owes at most one launch.
BAR_CLOSES = [
    ("2026-11-20 10:02", "cycle:2026-11-20-09:30"),
    ("2026-11-20 10:32", "cycle:2026-11-20-10:00"),
    ("2026-11-20 11:02", "cycle:2026-11-20-10:30"),
    ("2026-11-20 11:32", "cycle:2026-11-20-11:00"),
    ("2026-11-20 12:02", "cycle:2026-11-20-11:30"),
    ("2026-11-20 12:32", "cycle:2026-11-20-12:00"),
    ("2026-11-20 13:02", "cycle:2026-11-20-12:30"),
    ("2026-11-20 13:32", "cycle:2026-11-20-13:00"),
    ("2026-11-20 14:02", "cycle:2026-11-20-13:30"),
    ("2026-11-20 14:32", "cycle:2026-11-20-14:00"),
    ("2026-11-20 15:02", "cycle:2026-11-20-14:30"),
    ("2026-11-20 15:32", "cycle:2026-11-20-15:00"),
    ("2026-11-20 16:02", "cycle:2026-11-20-15:30"),
    ("2026-11-20 16:20", "eod:2026-11-20"),
]


@pytest.mark.parametrize(("at", "run_key"), BAR_CLOSES, ids=[k for _, k in BAR_CLOSES])
def test_each_bar_close_plus_data_delay_launches_that_bar_alone_and_live(
    market: MarketHoursManager, at: str, run_key: str
) -> None:
    result = tick(market, et(at) - timedelta(seconds=30), et(at))
    assert result.skip_reason is None
    assert result.requests == [
        TickRequest(
            run_key.split(":")[0],
            (run_key.split(":", 1)[1],),
            et(at).date(),
            stale=False,
        )
    ]
    assert keys_of(result) == [run_key]


@pytest.mark.parametrize(("at", "run_key"), BAR_CLOSES, ids=[k for _, k in BAR_CLOSES])
def test_one_second_before_a_due_time_nothing_is_owed_and_the_reason_names_it(
    market: MarketHoursManager, at: str, run_key: str
) -> None:
    now = et(at) - timedelta(seconds=1)
    result = tick(market, now - timedelta(seconds=30), now)
    kind, key = run_key.split(":", 1)
    label = "cycle" if kind == "cycle" else "EOD"
    assert result.requests == []
    assert result.skip_reason == f"next {label} {at} ET ({key})"


def test_a_due_time_is_owed_by_the_tick_that_reaches_it_not_by_the_next(
    market: MarketHoursManager,
) -> None:
    due = et("2026-11-20 10:02")
    assert keys_of(tick(market, due - timedelta(seconds=30), due)) == ["cycle:2026-11-20-09:30"]
    assert tick(market, due, due + timedelta(seconds=30)).requests == []


def test_after_friday_eod_the_next_launch_is_monday_first_cycle(
    market: MarketHoursManager,
) -> None:
    result = tick(market, et("2026-11-20 16:20"), et("2026-11-20 16:20:30"))
    assert result.skip_reason == "next cycle 2026-11-23 10:02 ET (2026-11-23-09:30)"


def test_a_cycle_exactly_stale_after_late_is_still_live_one_second_more_is_stale(
    market: MarketHoursManager,
) -> None:
    on_edge = tick(market, et("2026-11-20 09:00"), et("2026-11-20 11:02"))
    assert [(r.run_key, r.stale) for r in on_edge.requests] == [
        ("cycle:2026-11-20-09:30", False),
        ("cycle:2026-11-20-10:00", False),
        ("cycle:2026-11-20-10:30", False),
    ]
    past_edge = tick(market, et("2026-11-20 09:00"), et("2026-11-20 11:02:01"))
    assert [(r.run_key, r.stale) for r in past_edge.requests] == [
        ("cycle:2026-11-20-09:30", True),
        ("cycle:2026-11-20-10:00", False),
        ("cycle:2026-11-20-10:30", False),
    ]


# -- the early close of 2026-11-27 (13:00), no data delay -----------------------------------------

EARLY_CLOSE = [
    ("2026-11-27 12:30", ["cycle:2026-11-27-12:00"]),
    ("2026-11-27 13:00", ["cycle:2026-11-27-12:30"]),
    ("2026-11-27 13:20", ["eod:2026-11-27"]),
]


@pytest.mark.parametrize(("at", "run_keys"), EARLY_CLOSE, ids=[a[-5:] for a, _ in EARLY_CLOSE])
def test_early_close_last_cycle_due_13_00_and_eod_13_20(
    market: MarketHoursManager, at: str, run_keys: list[str]
) -> None:
    result = tick(market, et(at) - timedelta(seconds=30), et(at), NO_DELAY)
    assert keys_of(result) == run_keys
    assert all(not r.stale for r in result.requests)


def test_early_close_nothing_between_13_00_and_the_eod(market: MarketHoursManager) -> None:
    result = tick(market, et("2026-11-27 13:00"), et("2026-11-27 13:19:59"), NO_DELAY)
    assert result.requests == []
    assert result.skip_reason == "next EOD 2026-11-27 13:20 ET (2026-11-27)"


def test_early_close_no_cycle_after_13_00_and_the_next_is_monday(
    market: MarketHoursManager,
) -> None:
    result = tick(market, et("2026-11-27 13:20"), et("2026-11-27 16:30"), NO_DELAY)
    assert result.requests == []
    assert result.skip_reason == "next cycle 2026-11-30 10:00 ET (2026-11-30-09:30)"


def test_early_close_session_has_seven_bars_when_caught_up_at_once(
    market: MarketHoursManager,
) -> None:
    result = tick(market, et("2026-11-27 09:00"), et("2026-11-27 17:00"), NO_DELAY)
    assert [(r.kind, r.partition_keys, r.stale) for r in result.requests] == [
        ("cycle", session_keys("2026-11-27", BARS[:7]), True),
        ("eod", ("2026-11-27",), True),
    ]
    assert keys_of(result) == ["cycle-range:2026-11-27-09:30..2026-11-27-12:30", "eod:2026-11-27"]


# -- closed days ----------------------------------------------------------------------------------


def test_thanksgiving_says_the_market_is_closed_and_when_it_opens(
    market: MarketHoursManager,
) -> None:
    result = tick(market, et("2026-11-26 10:01:30"), et("2026-11-26 10:02"))
    assert result.requests == []
    assert result.skip_reason == "market closed: Thanksgiving; next open Fri 2026-11-27 09:30 ET"


def test_thanksgiving_at_midnight_already_says_closed(market: MarketHoursManager) -> None:
    result = tick(market, et("2026-11-25 23:59:30"), et("2026-11-26 00:00"))
    assert result.skip_reason == "market closed: Thanksgiving; next open Fri 2026-11-27 09:30 ET"


@pytest.mark.parametrize("at", ["2026-11-28 10:02", "2026-11-29 23:59"])
def test_a_weekend_says_the_market_is_closed_until_monday(
    market: MarketHoursManager, at: str
) -> None:
    result = tick(market, et(at) - timedelta(seconds=30), et(at))
    assert result.requests == []
    assert result.skip_reason == "market closed: weekend; next open Mon 2026-11-30 09:30 ET"


# -- DST: the UTC due time moves by an hour, the key does not -------------------------------------

DST = [
    pytest.param("2026-03-06T15:00Z", ["cycle:2026-03-06-09:30"], id="fri-before-spring-est"),
    pytest.param("2026-03-09T14:00Z", ["cycle:2026-03-09-09:30"], id="mon-after-spring-edt"),
    pytest.param("2026-03-09T15:00Z", ["cycle:2026-03-09-10:30"], id="edt-15z-is-11-00"),
    pytest.param("2026-03-09T20:00Z", ["cycle:2026-03-09-15:30"], id="edt-last-cycle-20z"),
    pytest.param("2026-03-09T20:20Z", ["eod:2026-03-09"], id="edt-eod-20-20z"),
    pytest.param("2026-10-30T14:00Z", ["cycle:2026-10-30-09:30"], id="fri-before-fall-edt"),
    pytest.param("2026-11-02T15:00Z", ["cycle:2026-11-02-09:30"], id="mon-after-fall-est"),
    pytest.param("2026-11-02T21:20Z", ["eod:2026-11-02"], id="est-eod-21-20z"),
]


@pytest.mark.parametrize(("at", "run_keys"), DST)
def test_dst_switch_moves_the_utc_due_time_not_the_key(
    market: MarketHoursManager, at: str, run_keys: list[str]
) -> None:
    result = tick(market, z(at) - timedelta(seconds=30), z(at), NO_DELAY)
    assert keys_of(result) == run_keys


def test_dst_monday_an_hour_early_in_utc_terms_is_still_before_the_open(
    market: MarketHoursManager,
) -> None:
    # 13:59Z on 2026-03-09 is 09:59 EDT: the first bar has not ended.
    result = tick(market, z("2026-03-09T13:30Z"), z("2026-03-09T13:59Z"), NO_DELAY)
    assert result.requests == []
    assert result.skip_reason == "next cycle 2026-03-09 10:00 ET (2026-03-09-09:30)"


# -- midnight -------------------------------------------------------------------------------------


def test_midnight_on_a_trading_day_owes_nothing_and_names_the_first_cycle(
    market: MarketHoursManager,
) -> None:
    result = tick(market, et("2026-11-23 23:59:30"), et("2026-11-24 00:00"))
    assert result.requests == []
    assert result.skip_reason == "next cycle 2026-11-24 10:02 ET (2026-11-24-09:30)"


def test_a_tick_across_midnight_after_missing_the_close_owes_last_bar_and_eod_once(
    market: MarketHoursManager,
) -> None:
    result = tick(market, et("2026-11-23 16:00"), et("2026-11-24 00:00:30"))
    assert [(r.run_key, r.stale) for r in result.requests] == [
        ("cycle:2026-11-23-15:30", True),
        ("eod:2026-11-23", True),
    ]


# -- restarts after downtime ----------------------------------------------------------------------


def assert_each_session_cycles_before_its_eod(result: TickPlan) -> None:
    position = {r.run_key: i for i, r in enumerate(result.requests)}
    for r in result.requests:
        if r.kind == "eod":
            cycles = [c for c in result.requests if c.kind == "cycle" and c.session == r.session]
            assert all(position[c.run_key] < position[r.run_key] for c in cycles), r.run_key


def test_restart_after_three_days_down_launches_each_missed_eod_once_and_one_range_per_session(
    market: MarketHoursManager,
) -> None:
    # Down from Wednesday 10:40 to Monday 10:31 (Thursday, Friday and a weekend lost).
    result = tick(market, et("2026-11-18 10:40"), et("2026-11-23 10:31"))
    got = {(r.run_key, r.partition_keys, r.stale) for r in result.requests}
    assert got == {
        (
            "cycle-range:2026-11-18-10:30..2026-11-18-15:30",
            session_keys("2026-11-18", BARS[2:]),
            True,
        ),
        (
            "cycle-range:2026-11-19-09:30..2026-11-19-15:30",
            session_keys("2026-11-19"),
            True,
        ),
        (
            "cycle-range:2026-11-20-09:30..2026-11-20-15:30",
            session_keys("2026-11-20"),
            True,
        ),
        ("eod:2026-11-18", ("2026-11-18",), True),
        ("eod:2026-11-19", ("2026-11-19",), True),
        ("eod:2026-11-20", ("2026-11-20",), True),
        ("cycle:2026-11-23-09:30", ("2026-11-23-09:30",), False),  # 29 min late: still live
    }
    assert len(result.requests) == len(got)  # nothing twice
    assert_each_session_cycles_before_its_eod(result)


def test_restart_mid_session_groups_today_stale_bars_and_keeps_recent_ones_live(
    market: MarketHoursManager,
) -> None:
    # Down from Friday 12:00 to Monday 12:00.
    result = tick(market, et("2026-11-20 12:00"), et("2026-11-23 12:00"))
    assert {(r.run_key, r.stale) for r in result.requests} == {
        ("cycle-range:2026-11-20-11:30..2026-11-20-15:30", True),
        ("eod:2026-11-20", True),
        ("cycle-range:2026-11-23-09:30..2026-11-23-10:00", True),  # due 10:02, 10:32
        ("cycle:2026-11-23-10:30", False),  # due 11:02, 58 min late
        ("cycle:2026-11-23-11:00", False),  # due 11:32
    }
    assert len(result.requests) == 5
    assert_each_session_cycles_before_its_eod(result)


def test_restart_replays_at_most_catchup_sessions_past_sessions(
    market: MarketHoursManager,
) -> None:
    # Down for two weeks; catchup_sessions=1 replays Friday only, never 2026-11-10..19.
    result = tick(market, et("2026-11-09 12:00"), et("2026-11-23 10:31"), catchup_sessions=1)
    assert keys_of(result) == [
        "cycle-range:2026-11-20-09:30..2026-11-20-15:30",
        "eod:2026-11-20",
        "cycle:2026-11-23-09:30",
    ]


def test_catchup_bound_is_the_same_before_and_after_today_open(
    market: MarketHoursManager,
) -> None:
    # Whether the restart comes at 08:31 or 10:31, one past session (Friday) is replayed.
    before_open = tick(market, et("2026-11-09 12:00"), et("2026-11-23 08:31"), catchup_sessions=1)
    assert keys_of(before_open) == [
        "cycle-range:2026-11-20-09:30..2026-11-20-15:30",
        "eod:2026-11-20",
    ]


@pytest.mark.parametrize("now", ["2026-11-23 08:31", "2026-11-23 10:31"])
def test_catchup_sessions_zero_replays_no_past_session(
    market: MarketHoursManager, now: str
) -> None:
    result = tick(market, et("2026-11-18 10:40"), et(now), catchup_sessions=0)
    assert all(r.session.isoformat() == "2026-11-23" for r in result.requests)
    assert keys_of(result) == (["cycle:2026-11-23-09:30"] if now.endswith("10:31") else [])


def test_catchup_floor_is_just_before_an_open(market: MarketHoursManager) -> None:
    floor = catchup_floor(market, et("2026-11-23 10:31"), 2)
    assert floor == et("2026-11-19 09:30") - timedelta(microseconds=1)


def test_catchup_across_thanksgiving_counts_sessions_not_days(
    market: MarketHoursManager,
) -> None:
    # Monday 2026-11-30, two past sessions: Friday 27 (early close) and Wednesday 25.
    result = tick(market, et("2026-11-20 12:00"), et("2026-11-30 09:00"), catchup_sessions=2)
    assert keys_of(result) == [
        "cycle-range:2026-11-25-09:30..2026-11-25-15:30",
        "cycle-range:2026-11-27-09:30..2026-11-27-12:30",
        "eod:2026-11-25",
        "eod:2026-11-27",
    ]
