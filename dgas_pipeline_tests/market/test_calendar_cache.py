"""A built calendar is kept on disk and read back, whatever state the file is in."""

from __future__ import annotations

import pickle
import warnings
from datetime import date
from pathlib import Path

import exchange_calendars as xcals
import pandas as pd
import pytest

from dgas_pipeline.market.calendar_cache import CACHE_DIR_ENV, cache_file, cached_calendar

START, END = date(2024, 1, 1), date(2026, 12, 31)


class Builds:
    """A real build, counted."""

    def __init__(self, exchange: str = "XNYS") -> None:
        self.exchange = exchange
        self.count = 0

    def __call__(self) -> xcals.ExchangeCalendar:
        self.count += 1
        return build(self.exchange, START)


def build(exchange: str, start: date) -> xcals.ExchangeCalendar:
    with warnings.catch_warnings():  # exchange_calendars' own pandas deprecations
        warnings.simplefilter("ignore", DeprecationWarning)
        return xcals.get_calendar(exchange, start=pd.Timestamp(start), end=pd.Timestamp(END))


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_second_process_reads_the_calendar_the_first_built() -> None:
    first, second = Builds(), Builds()
    built = cached_calendar("XNYS", START, END, first)
    read = cached_calendar("XNYS", START, END, second)
    assert (first.count, second.count) == (1, 0)
    assert read is not built
    assert read.schedule.equals(built.schedule)
    assert read.early_closes.equals(built.early_closes)
    assert read.is_session("2025-11-28") and not read.is_session("2025-11-27")


def test_each_exchange_and_range_has_its_own_file() -> None:
    cached_calendar("XNYS", START, END, Builds())
    london = Builds("XLON")
    calendar = cached_calendar("XLON", START, END, london)
    assert london.count == 1 and calendar.name == "XLON"
    assert cache_file("XNYS", START, END) != cache_file("XNYS", START, date(2027, 12, 31))
    assert cache_file("XNYS", START, END) != cache_file("XLON", START, END)


@pytest.mark.parametrize(
    "content",
    [b"", b"not a pickle", pickle.dumps({"a": "dict"}), pickle.dumps("XNYS")[:5]],
    ids=["empty", "garbage", "another-object", "truncated"],
)
def test_a_file_that_is_not_the_calendar_is_rebuilt_and_replaced(content: bytes) -> None:
    path = cache_file("XNYS", START, END)
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    builds = Builds()
    calendar = cached_calendar("XNYS", START, END, builds)
    assert builds.count == 1 and calendar.is_session("2025-11-28")
    assert cached_calendar("XNYS", START, END, Builds()).schedule.equals(calendar.schedule)


def test_a_calendar_of_another_range_under_the_name_is_not_taken() -> None:
    path = cache_file("XNYS", START, END)
    path.parent.mkdir(parents=True)
    wider = build("XNYS", date(2016, 1, 1))
    path.write_bytes(pickle.dumps(wider))
    builds = Builds()
    assert cached_calendar("XNYS", START, END, builds).first_session.date() >= START
    assert builds.count == 1


def test_a_cache_that_cannot_be_written_costs_only_the_build(cache: Path) -> None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text("a file where the directory would be", encoding="utf-8")
    builds = Builds()
    calendar = cached_calendar("XNYS", START, END, builds)
    assert builds.count == 1 and calendar.is_session("2025-11-28")
    assert sorted(p.name for p in cache.parent.iterdir()) == ["cache"]
