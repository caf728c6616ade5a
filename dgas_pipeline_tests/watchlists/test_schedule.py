"""When HH:MM watchlists run: answer tables at fixed instants on the NYSE clock.

Facts used (NYSE 2026): Thanksgiving Thu Nov 26 closed, Black Friday Nov 27 closes at 13:00
ET; Christmas Eve Thu Dec 24 closes at 13:00, Christmas Fri Dec 25 closed; DST starts Sun
Mar 8 and ends Sun Nov 1. ET is UTC-5 in winter, UTC-4 in summer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import pytest

from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market import CalendarOverrides, MarketHoursManager
from dgas_pipeline.watchlists.schedule import (
    WatchlistRun,
    due_watchlist_runs,
    every_bar_symbols,
    skip_reason,
    skipped_watchlist_runs,
    watchlist_run_key,
)


@dataclass(frozen=True)
class W:
    name: str
    schedule: str
    enabled: bool = True
    symbols: tuple[str, ...] = ("SPY",)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "after", "now", "expected"),
    [
        # A plain Wednesday in winter: 10:00 ET is 15:00 UTC.
        ("10:00", "2026-11-25 14:59", "2026-11-25 15:00", [("2026-11-25", "15:00")]),
        # `after < due <= now`: a tick exactly at the due time owns it, the next does not.
        ("10:00", "2026-11-25 15:00", "2026-11-25 15:01", []),
        ("10:00", "2026-11-25 14:00", "2026-11-25 14:59", []),
        # Thanksgiving: closed, nothing due all day.
        ("10:00", "2026-11-26 00:00", "2026-11-27 00:00", []),
        # Black Friday closes at 13:00: 12:30 runs, 13:00 (at the close) runs, 14:00 does not.
        ("12:30", "2026-11-27 00:00", "2026-11-28 00:00", [("2026-11-27", "17:30")]),
        ("13:00", "2026-11-27 00:00", "2026-11-28 00:00", [("2026-11-27", "18:00")]),
        ("14:00", "2026-11-27 00:00", "2026-11-28 00:00", []),
        # The next regular session runs 14:00 as usual.
        ("14:00", "2026-11-27 00:00", "2026-12-01 00:00", [("2026-11-30", "19:00")]),
        # DST starts Sun Mar 8: 10:00 ET moves from 15:00 UTC (Fri) to 14:00 UTC (Mon).
        (
            "10:00",
            "2026-03-06 00:00",
            "2026-03-10 00:00",
            [("2026-03-06", "15:00"), ("2026-03-09", "14:00")],
        ),
        # DST ends Sun Nov 1: 15:45 ET moves from 19:45 UTC (Fri) to 20:45 UTC (Mon).
        (
            "15:45",
            "2026-10-30 00:00",
            "2026-11-03 00:00",
            [("2026-10-30", "19:45"), ("2026-11-02", "20:45")],
        ),
        # Christmas week: Thu Dec 24 closes at 13:00 (10:00 runs), Fri Dec 25 closed.
        (
            "10:00",
            "2026-12-23 00:00",
            "2026-12-27 00:00",
            [("2026-12-23", "15:00"), ("2026-12-24", "15:00")],
        ),
    ],
)
def test_due_runs(
    market: MarketHoursManager,
    schedule: str,
    after: str,
    now: str,
    expected: list[tuple[str, str]],
) -> None:
    runs = due_watchlist_runs([W("w", schedule)], market, utc(after), utc(now))
    assert [(r.date.isoformat(), r.due.strftime("%H:%M")) for r in runs] == expected
    for r in runs:
        assert r.due.tzinfo is not None
        assert r.run_key == f"watchlist:w:{r.date.isoformat()}"


@pytest.mark.parametrize(
    ("day", "at", "reason"),
    [
        ("2026-11-26", "10:00", "market closed: Thanksgiving"),
        ("2026-12-25", "10:00", "market closed: Christmas"),
        ("2026-01-19", "10:00", "market closed: Dr. Martin Luther King Jr. Day"),
        ("2026-11-28", "10:00", "market closed: weekend"),
        (
            "2026-11-27",
            "14:00",
            "early close at 13:00 (Black Friday): 14:00 is after the close",
        ),
        (
            "2026-12-24",
            "15:59",
            "early close at 13:00 (Christmas Eve): 15:59 is after the close",
        ),
        ("2026-11-25", "09:00", "09:00 is before the open (09:30)"),
        ("2026-11-25", "16:30", "16:30 is after the close (16:00)"),
        ("2026-11-27", "13:00", None),
        ("2026-11-25", "09:30", None),
        ("2026-11-25", "16:00", None),
    ],
)
def test_skip_reasons(market: MarketHoursManager, day: str, at: str, reason: str | None) -> None:
    assert skip_reason(market, date.fromisoformat(day), time.fromisoformat(at)) == reason


def test_skipped_runs_say_why_for_each_watchlist(market: MarketHoursManager) -> None:
    watchlists = [W("late", "14:00"), W("early", "10:00")]
    after, now = utc("2026-11-26 00:00"), utc("2026-11-28 00:00")
    skips = skipped_watchlist_runs(watchlists, market, after, now)
    assert [(s.name, s.date.isoformat(), s.reason) for s in skips] == [
        ("early", "2026-11-26", "market closed: Thanksgiving"),
        ("late", "2026-11-26", "market closed: Thanksgiving"),
        ("late", "2026-11-27", "early close at 13:00 (Black Friday): 14:00 is after the close"),
    ]
    assert due_watchlist_runs(watchlists, market, after, now) == [
        WatchlistRun("early", date(2026, 11, 27), utc("2026-11-27 15:00"))
    ]


def test_an_override_closure_is_skipped_with_its_reason() -> None:
    market = MarketHoursManager(
        "XNYS",
        CalendarOverrides.model_validate(
            {"closures": [{"date": "2026-12-08", "reason": "Day of mourning"}]}
        ),
    )
    after, now = utc("2026-12-08 00:00"), utc("2026-12-09 00:00")
    assert due_watchlist_runs([W("w", "10:00")], market, after, now) == []
    (skip,) = skipped_watchlist_runs([W("w", "10:00")], market, after, now)
    assert skip.reason == "market closed: Day of mourning"


def test_disabled_and_every_bar_watchlists_are_not_launched(market: MarketHoursManager) -> None:
    watchlists = [W("off", "10:00", enabled=False), W("bars", "every_bar"), W("on", "10:00")]
    runs = due_watchlist_runs(watchlists, market, utc("2026-11-25 00:00"), utc("2026-11-26 00:00"))
    assert [r.name for r in runs] == ["on"]


def test_a_long_gap_owes_each_session_once_in_order(market: MarketHoursManager) -> None:
    """The daemon was down from Tuesday to the next Tuesday: one run per session missed."""
    runs = due_watchlist_runs(
        [W("b", "10:00"), W("a", "10:00")],
        market,
        utc("2026-11-24 16:00"),
        utc("2026-12-01 16:00"),
    )
    assert [r.run_key for r in runs] == [
        "watchlist:a:2026-11-25",
        "watchlist:b:2026-11-25",
        "watchlist:a:2026-11-27",
        "watchlist:b:2026-11-27",
        "watchlist:a:2026-11-30",
        "watchlist:b:2026-11-30",
        "watchlist:a:2026-12-01",
        "watchlist:b:2026-12-01",
    ]


def test_an_empty_or_backward_window_owes_nothing(market: MarketHoursManager) -> None:
    at = utc("2026-11-25 15:00")
    assert due_watchlist_runs([W("w", "10:00")], market, at, at) == []
    assert due_watchlist_runs([W("w", "10:00")], market, at, utc("2026-11-20 15:00")) == []


def test_naive_instants_are_refused(market: MarketHoursManager) -> None:
    with pytest.raises(InvalidInput, match=r"^after: .* is a naive time"):
        due_watchlist_runs([W("w", "10:00")], market, datetime(2026, 11, 25), utc("2026-11-26"))


def test_run_key() -> None:
    assert watchlist_run_key("tech.v2", date(2026, 11, 27)) == "watchlist:tech.v2:2026-11-27"


def test_every_bar_symbols_are_the_enabled_every_bar_tickers_once() -> None:
    watchlists = [
        W("a", "every_bar", symbols=("SPY", "QQQ")),
        W("b", "every_bar", symbols=("QQQ", "IWM")),
        W("c", "every_bar", enabled=False, symbols=("TSLA",)),
        W("d", "10:00", symbols=("NVDA",)),
    ]
    assert every_bar_symbols(watchlists) == ("SPY", "QQQ", "IWM")
