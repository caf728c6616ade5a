"""The calendar's range: a fixed first day, two years ahead, the same answers across New Year.

The first day is `calendar.history_start` (default 2016-01-01), never "ten years back": a
process or a config that covered a day keeps covering it when the year turns. Closures
exchange_calendars knows without a name are named from the shipped `closure_names.yaml`.
Expected values are written from the exchange's history, not from the code under test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
import yaml

from dgas_pipeline.config import SchedulerConfig
from dgas_pipeline.config_check import check_config
from dgas_pipeline.location import market_for
from dgas_pipeline.market import MarketHoursManager
from dgas_pipeline.market.calendar import exchange_calendar
from dgas_pipeline.market.closure_names import closure_names
from dgas_pipeline.market.sessions import WEEKEND
from dgas_pipeline_tests.deployment import isolate, run_dgas

ET = ZoneInfo("America/New_York")
# Instants either side of New Year, in New York and in UTC (where the date turns earlier).
NEW_YEAR = [
    datetime(2026, 12, 31, 18, 59, 59, tzinfo=ET),
    datetime(2026, 12, 31, 19, 0, 1, tzinfo=ET),  # 2027-01-01T00:00:01Z
    datetime(2026, 12, 31, 23, 59, 59, tzinfo=ET),
    datetime(2027, 1, 1, 0, 0, 1, tzinfo=ET),
]


def manager_at(at: datetime) -> MarketHoursManager:
    with time_machine.travel(at, tick=False):
        return MarketHoursManager()


def test_new_year_takes_no_covered_day_away() -> None:
    markets = [manager_at(at) for at in NEW_YEAR]
    assert {m.first_day for m in markets} == {date(2016, 1, 1)}
    assert [m.last_day for m in markets] == [
        date(2028, 12, 31), date(2029, 12, 31), date(2029, 12, 31), date(2029, 12, 31)
    ]  # fmt: skip
    before, after = markets[0], markets[-1]
    # Every day the old calendar covered has the same answer in the new one.
    covered = before.sessions_between(before.first_day, before.last_day)
    assert after.sessions_between(before.first_day, before.last_day) == covered
    assert len(covered) > 3000  # 13 years of sessions


@pytest.mark.parametrize("at", NEW_YEAR, ids=lambda at: at.isoformat())
def test_the_calendar_reaches_two_years_past_today(at: datetime) -> None:
    market = manager_at(at)
    today = at.astimezone(UTC).date()
    assert market.last_day >= today.replace(year=today.year + 2)


def test_every_covered_day_has_an_answer() -> None:
    """Each date from the first day to the last is a session or a closure with a reason."""
    market = manager_at(NEW_YEAR[0])
    day, unnamed = market.first_day, []
    while day <= market.last_day:
        session = market.session(day)
        if session.is_trading_day:
            assert session.open is not None and session.close is not None
            assert session.open < session.close
        else:
            assert session.reason
            if session.reason == "ad-hoc closure":
                unnamed.append(day)
        day += timedelta(days=1)
    assert unnamed == []  # every closure since 2016 has a name


# -- the first day is a setting ------------------------------------------------------------------


def test_history_start_opens_the_years_before_2016(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = SchedulerConfig.model_validate(
        {"partitions_start": "2001-01-02", "calendar": {"history_start": "2000-01-03"}}
    )
    market = check_config(config, now=datetime(2026, 12, 4, 12, tzinfo=UTC))
    assert (market.first_day, market_for(config).first_day) == (date(2000, 1, 3),) * 2
    assert market.session(date(2001, 9, 11)).reason == "September 11 attacks"
    assert market.session(date(2012, 10, 29)).reason == "Hurricane Sandy"
    assert market.session(date(2000, 1, 3)).open == datetime(2000, 1, 3, 14, 30, tzinfo=UTC)

    isolate(tmp_path, monkeypatch)
    (tmp_path / "dgas.yaml").write_text(
        yaml.safe_dump({"calendar": {"history_start": "2000-01-03"}}), encoding="utf-8"
    )
    code, out, err = run_dgas("calendar", "2004-06-11", "--json")
    assert (code, err) == (0, "")
    assert yaml.safe_load(out)["reason"] == "National Day of Mourning (President Ronald Reagan)"


def test_a_date_before_the_first_day_is_refused_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate(tmp_path, monkeypatch)
    code, out, err = run_dgas("calendar", "2015-12-31")
    assert (code, out) == (2, "")
    assert err.startswith("dgas: DATE: '2015-12-31' is outside the XNYS calendar (2016-01-01 to")


# -- closures named from the shipped file --------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (date(2018, 12, 5), "National Day of Mourning (President George H. W. Bush)"),
        (date(2025, 1, 9), "National Day of Mourning (President Jimmy Carter)"),
    ],
    ids=str,
)
def test_national_days_of_mourning_are_named(
    tmp_path,
    monkeypatch,
    day: date,
    reason: str,
) -> None:
    market = MarketHoursManager()
    session = market.session(day)
    assert (session.is_trading_day, session.reason) == (False, reason)
    isolate(tmp_path, monkeypatch)
    code, out, err = run_dgas("calendar", day.isoformat(), "--json")
    assert (code, err) == (0, "")
    answer = yaml.safe_load(out)
    assert (answer["is_trading_day"], answer["reason"], answer["launches"]) == (False, reason, [])


def test_the_shipped_names_only_name_closures_the_library_already_has() -> None:
    """A name can never close a trading day: each date is a weekday on which the exchange has
    no session and no regular holiday (those have the library's own name)."""
    names = closure_names("XNYS")
    assert len(names) >= 2
    first, last = min(names), max(names)
    calendar = exchange_calendar("XNYS", (first - timedelta(days=7), last + timedelta(days=7)))
    sessions = {ts.date() for ts in calendar.sessions}
    regular = {ts.date() for ts in calendar.regular_holidays.holidays(start=first, end=last)}
    for day, reason in names.items():
        assert day.weekday() < 5 and reason.strip() and reason != WEEKEND, day
        assert day not in sessions and day not in regular, day
    assert closure_names("XLON") == {}
