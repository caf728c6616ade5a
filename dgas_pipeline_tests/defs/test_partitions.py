"""The Dagster partitions are the planner's launches, key for key and window for window."""

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest

from dgas_pipeline.defs.partitions import cycle_partitions, session_partitions
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market import CalendarOverrides, MarketHoursManager, PlanSettings, plan_launches
from dgas_pipeline.market.overrides import Closure, EarlyClose

YEAR_START, YEAR_END = date(2026, 1, 1), date(2026, 12, 31)
# Evaluate "now" after the year so every key of it exists.
AFTER_YEAR = datetime(2027, 1, 15, tzinfo=UTC)


def _keys_in_year(partitions: dg.TimeWindowPartitionsDefinition) -> list[str]:
    with dg.instance_for_test():
        keys = partitions.get_partition_keys(current_time=AFTER_YEAR)
    return [k for k in keys if k[:4] == "2026"]


@pytest.mark.parametrize("minutes", [15, 30])
def test_cycle_partitions_equal_the_planners_bars_over_a_full_year(minutes: int) -> None:
    market = MarketHoursManager()
    interval = timedelta(minutes=minutes)
    partitions = cycle_partitions(market, date(2025, 12, 1), interval)
    planned = [
        x
        for x in plan_launches(market, YEAR_START, YEAR_END, PlanSettings(interval))
        if x.kind == "cycle"
    ]

    assert _keys_in_year(partitions) == [x.partition_key for x in planned]
    # Every window at the default interval; at 15min the first and last bar of each session
    # (Dagster resolves a window in time linear in the exclusions, ~2 ms a key).
    first_and_last = [
        x
        for prev, x, nxt in zip([None, *planned[:-1]], planned, [*planned[1:], None], strict=True)
        if prev is None or nxt is None or prev.session != x.session or nxt.session != x.session
    ]
    checked = planned if minutes == 30 else first_and_last
    for launch in checked:
        window = partitions.time_window_for_partition_key(launch.partition_key)
        assert (window.start, window.end) == (launch.bar_start, launch.bar_end), launch


def test_session_partitions_are_the_years_sessions() -> None:
    market = MarketHoursManager()
    partitions = session_partitions(market, date(2025, 12, 1))
    sessions = [s.date.isoformat() for s in market.sessions_between(YEAR_START, YEAR_END)]

    assert _keys_in_year(partitions) == sessions
    assert "2026-11-26" not in sessions and "2026-11-27" in sessions


@pytest.mark.parametrize(
    ("key", "start", "end"),
    [
        ("2026-11-27-12:30", "2026-11-27T17:30:00+00:00", "2026-11-27T18:00:00+00:00"),
        ("2026-11-25-15:30", "2026-11-25T20:30:00+00:00", "2026-11-25T21:00:00+00:00"),
        ("2026-03-06-09:30", "2026-03-06T14:30:00+00:00", "2026-03-06T15:00:00+00:00"),
        ("2026-03-09-09:30", "2026-03-09T13:30:00+00:00", "2026-03-09T14:00:00+00:00"),
        ("2026-12-24-12:30", "2026-12-24T17:30:00+00:00", "2026-12-24T18:00:00+00:00"),
    ],
)
def test_cycle_window_edges(key: str, start: str, end: str) -> None:
    partitions = cycle_partitions(MarketHoursManager(), date(2026, 1, 2), timedelta(minutes=30))
    window = partitions.time_window_for_partition_key(key)
    assert window.start == datetime.fromisoformat(start)
    assert window.end == datetime.fromisoformat(end)


@pytest.mark.parametrize(
    "absent",
    [
        "2026-11-26-10:00",  # Thanksgiving
        "2026-11-27-13:00",  # after the early close
        "2026-11-25-09:00",  # before the open
        "2026-11-25-16:00",  # the close
        "2026-11-28-10:00",  # Saturday
        "2026-12-08-10:00",  # override closure
        "2026-12-09-13:30",  # after the override early close
    ],
)
def test_no_partition_outside_planned_bars(absent: str) -> None:
    overrides = CalendarOverrides(
        closures=(Closure(date=date(2026, 12, 8), reason="Day of mourning"),),
        early_closes=(EarlyClose(date=date(2026, 12, 9), close="13:00", reason="Exchange notice"),),
    )
    partitions = cycle_partitions(
        MarketHoursManager(overrides=overrides), date(2026, 11, 2), timedelta(minutes=30)
    )
    keys = set(_keys_in_year(partitions))
    assert absent not in keys
    assert "2026-12-09-12:30" in keys


def test_interval_off_the_grid_is_rejected_with_the_field() -> None:
    with pytest.raises(InvalidInput, match="interval"):
        cycle_partitions(MarketHoursManager(), date(2026, 1, 2), timedelta(minutes=45))
