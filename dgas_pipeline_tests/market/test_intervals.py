"""Interval spellings: one parser for the CLI, the config and the planner."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market import format_interval, parse_interval

SPELLINGS = [
    ("30min", 30),
    ("30m", 30),
    (" 30MIN ", 30),
    ("15 min", 15),
    ("45min", 45),
    ("1h", 60),
    ("1 hour", 60),
    ("2hours", 120),
    ("4h", 240),
    ("90min", 90),
    ("24h", 1440),
]


@pytest.mark.parametrize(("text", "minutes"), SPELLINGS)
def test_interval_spellings_parse_to_minutes(text: str, minutes: int) -> None:
    assert parse_interval(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("minutes", "canonical"),
    [(15, "15min"), (30, "30min"), (45, "45min"), (60, "1h"), (90, "90min"), (240, "4h")],
)
def test_canonical_spelling_uses_hours_only_for_whole_hours(minutes: int, canonical: str) -> None:
    assert format_interval(timedelta(minutes=minutes)) == canonical
    assert parse_interval(canonical) == timedelta(minutes=minutes)


def test_a_timedelta_of_whole_minutes_passes_through() -> None:
    assert parse_interval(timedelta(minutes=45)) == timedelta(minutes=45)


BAD = [
    pytest.param("", id="empty"),
    pytest.param("30", id="no-unit"),
    pytest.param("0min", id="zero"),
    pytest.param("-5min", id="negative"),
    pytest.param("30s", id="seconds"),
    pytest.param("1d", id="days"),
    pytest.param("1.5h", id="fraction"),
    pytest.param("half an hour", id="words"),
    pytest.param("25h", id="longer-than-a-day"),
    pytest.param("100000000000h", id="huge-does-not-overflow"),
    pytest.param(timedelta(seconds=90), id="timedelta-not-whole-minutes"),
    pytest.param(timedelta(0), id="timedelta-zero"),
    pytest.param(timedelta(days=2), id="timedelta-two-days"),
]


@pytest.mark.parametrize("text", BAD)
def test_bad_interval_is_rejected_naming_the_field_and_value(text: str | timedelta) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_interval(text, "--interval")
    assert err.value.field == "--interval"
    assert err.value.value == str(text)
    assert str(err.value).startswith(f"--interval: {str(text)!r} ")
