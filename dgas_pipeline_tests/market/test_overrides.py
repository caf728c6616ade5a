"""The overrides file: closures and early closes the library does not know yet."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market import (
    MarketHoursManager,
    PlanSettings,
    launches_due,
    load_overrides,
    plan_launches,
)
from dgas_pipeline.market.overrides import NO_OVERRIDES
from dgas_pipeline_tests.deployment import run_dgas

GOOD = """\
closures:
  - {date: 2026-12-08, reason: "Day of mourning"}
early_closes:
  - {date: 2026-12-09, close: "13:00", reason: "Exchange notice"}
"""


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "overrides.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def market(tmp_path: Path) -> MarketHoursManager:
    return MarketHoursManager(overrides=load_overrides(write(tmp_path, GOOD)))


# -- the sessions the overrides make, and the days around them left as they were -------------

# (day, open, close, early close, reason); open/close None on a closed day
SESSIONS = [
    pytest.param(date(2026, 12, 7), "2026-12-07T14:30Z", "2026-12-07T21:00Z", False, None,
                 id="day-before-untouched"),
    pytest.param(date(2026, 12, 8), None, None, False, "Day of mourning",
                 id="adhoc-closure-closes-the-day-with-its-reason"),
    pytest.param(date(2026, 12, 9), "2026-12-09T14:30Z", "2026-12-09T18:00Z", True,
                 "Exchange notice", id="adhoc-early-close-ends-the-session-at-13-00-et"),
    pytest.param(date(2026, 12, 10), "2026-12-10T14:30Z", "2026-12-10T21:00Z", False, None,
                 id="day-after-untouched"),
]  # fmt: skip


@pytest.mark.parametrize(("day", "opens", "closes", "early", "reason"), SESSIONS)
def test_session_of_each_day_around_the_overrides(
    market: MarketHoursManager,
    day: date,
    opens: str | None,
    closes: str | None,
    early: bool,
    reason: str | None,
) -> None:
    session = market.session(day)
    assert session.is_trading_day is (opens is not None)
    assert (session.open, session.close) == (opens and z(opens), closes and z(closes))
    assert (session.early_close, session.reason) == (early, reason)


# -- an ad-hoc closure -----------------------------------------------------------------------------


def test_adhoc_closure_plans_no_launches(market: MarketHoursManager) -> None:
    assert plan_launches(market, date(2026, 12, 8), date(2026, 12, 8), PlanSettings()) == []


@pytest.mark.parametrize("at", ["2026-12-08T14:30Z", "2026-12-08T17:00Z"])
def test_market_is_not_open_during_an_adhoc_closure(market: MarketHoursManager, at: str) -> None:
    assert market.is_market_open(z(at)) is False


def test_next_open_after_the_day_before_a_closure_skips_it(market: MarketHoursManager) -> None:
    assert market.next_market_open(z("2026-12-07T21:00Z")) == z("2026-12-09T14:30Z")


# -- an ad-hoc early close ------------------------------------------------------------------------


def test_adhoc_early_close_has_seven_cycles_and_eod_at_13_20_et(
    market: MarketHoursManager,
) -> None:
    plan = plan_launches(market, date(2026, 12, 9), date(2026, 12, 9), PlanSettings())
    assert [x.partition_key for x in plan if x.kind == "cycle"] == [
        "2026-12-09-09:30",
        "2026-12-09-10:00",
        "2026-12-09-10:30",
        "2026-12-09-11:00",
        "2026-12-09-11:30",
        "2026-12-09-12:00",
        "2026-12-09-12:30",
    ]
    assert (plan[-2].bar_start, plan[-2].bar_end) == (
        z("2026-12-09T17:30Z"),
        z("2026-12-09T18:00Z"),
    )
    assert (plan[-1].run_key, plan[-1].due) == ("eod:2026-12-09", z("2026-12-09T18:20Z"))


@pytest.mark.parametrize(
    ("at", "is_open"), [("2026-12-09T17:59:59Z", True), ("2026-12-09T18:00Z", False)]
)
def test_market_closes_at_the_adhoc_early_close(
    market: MarketHoursManager, at: str, is_open: bool
) -> None:
    assert market.is_market_open(z(at)) is is_open


def test_sensor_window_over_the_overrides_sees_eod_then_the_first_early_close_cycle(
    market: MarketHoursManager,
) -> None:
    due = launches_due(market, z("2026-12-07T21:00Z"), z("2026-12-09T15:00Z"), PlanSettings())
    assert [x.run_key for x in due] == ["eod:2026-12-07", "cycle:2026-12-09-09:30"]


# -- no overrides ----------------------------------------------------------------------------------


def test_no_file_and_an_empty_file_mean_no_overrides(tmp_path: Path) -> None:
    assert load_overrides(None) == NO_OVERRIDES
    assert load_overrides(write(tmp_path, "")) == NO_OVERRIDES


def test_unquoted_dates_are_read_as_dates(tmp_path: Path) -> None:
    overrides = load_overrides(write(tmp_path, GOOD))
    assert overrides.closures[0].date == date(2026, 12, 8)
    assert overrides.early_closes[0].close.strftime("%H:%M") == "13:00"


# -- bad files: rejected with the field, the value and what was expected -----------------------

BAD = [
    pytest.param('closures:\n  - {date: 2026-13-01, reason: "x"}\n',
                 "closures[0].date", "2026-13-01", id="month-13"),
    pytest.param('closures:\n  - {date: "Dec 8", reason: "x"}\n',
                 "closures[0].date", "Dec 8", id="not-a-date"),
    pytest.param('early_closes:\n  - {date: 2026-12-09, close: "25:00", reason: "x"}\n',
                 "early_closes[0].close", "25:00", id="close-25-00"),
    pytest.param('early_closes:\n  - {date: 2026-12-09, close: "1pm", reason: "x"}\n',
                 "early_closes[0].close", "1pm", id="close-1pm"),
    pytest.param('early_closes:\n  - {date: 2026-12-09, close: 13:00, reason: "x"}\n',
                 "early_closes[0].close", "13:00", id="unquoted-13-00-read-as-780"),
    pytest.param("closures:\n  - {date: 2026-12-08}\n",
                 "closures[0].reason", "None", id="missing-reason"),
    pytest.param('closures:\n  - {date: 2026-12-08, reason: "  "}\n',
                 "closures[0].reason", "'  '", id="blank-reason"),
    pytest.param('closures:\n  - {date: 2026-12-08, reason: a}\n'
                 '  - {date: 2026-12-08, reason: b}\n',
                 "closures[1].date", "2026-12-08", id="duplicate-date"),
    pytest.param('closures:\n  - {date: 2026-12-08, reason: a}\n'
                 'early_closes:\n  - {date: 2026-12-08, close: "13:00", reason: b}\n',
                 "early_closes[0].date", "2026-12-08", id="date-in-both-lists"),
    pytest.param('closures:\n  - {date: 2026-12-08, reason: a, why: b}\n',
                 "closures[0].why", "<not shown>", id="unknown-entry-key"),
    pytest.param('holidays:\n  - {date: 2026-12-08, reason: a}\n',
                 "holidays", "<not shown>", id="unknown-top-level-key"),
    pytest.param("- {date: 2026-12-08, reason: a}\n",
                 "overrides", "list", id="not-a-mapping"),
    pytest.param("closures: [\n", "overrides", "overrides.yaml", id="bad-yaml"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "field", "value"), BAD)
def test_bad_overrides_file_is_rejected_naming_field_and_value(
    tmp_path: Path, text: str, field: str, value: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        load_overrides(write(tmp_path, text))
    assert len(err.value.lines) == 1
    line = err.value.lines[0]
    assert line.startswith(f"{field}: ")
    assert value in line


def test_unreadable_overrides_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as err:
        load_overrides(tmp_path / "missing.yaml")
    assert err.value.field == "overrides"
    assert "missing.yaml" in str(err.value)


@pytest.mark.parametrize(
    "close",
    [
        pytest.param("17:00", id="after-the-regular-close"),
        pytest.param("16:00", id="at-the-regular-close"),
        pytest.param("09:00", id="before-the-open"),
    ],
)
def test_early_close_outside_the_session_is_rejected(tmp_path: Path, close: str) -> None:
    text = f'early_closes:\n  - {{date: 2026-12-09, close: "{close}", reason: "x"}}\n'
    overrides = load_overrides(write(tmp_path, text))
    with pytest.raises(InvalidInput) as err:
        MarketHoursManager(overrides=overrides)  # refused with the clock, before any question
    assert (err.value.field, err.value.value) == ("early_closes[0].close", close)


# -- every date a session of the exchange, every early close inside its session ---------------

# (entry, the field named, a piece of the message)
NOT_FITTING = [
    pytest.param("closures:\n  - {date: 2026-12-12, reason: x}\n",
                 "closures[0].date", "is not a session of XNYS (a Saturday)",
                 id="closure-saturday"),
    pytest.param("closures:\n  - {date: 2026-12-13, reason: x}\n",
                 "closures[0].date", "(a Sunday)", id="closure-sunday"),
    pytest.param("closures:\n  - {date: 2026-12-25, reason: x}\n",
                 "closures[0].date", "(Christmas)", id="closure-christmas"),
    pytest.param("closures:\n  - {date: 2026-11-26, reason: x}\n",
                 "closures[0].date", "(Thanksgiving", id="closure-thanksgiving"),
    pytest.param("closures:\n  - {date: 2026-04-03, reason: x}\n",
                 "closures[0].date", "(Good Friday)", id="closure-good-friday"),
    pytest.param("closures:\n  - {date: 1990-01-02, reason: x}\n",
                 "closures[0].date", "is outside the XNYS calendar",
                 id="closure-before-the-calendar"),
    pytest.param("closures:\n  - {date: 2099-01-02, reason: x}\n",
                 "closures[0].date", "is outside the XNYS calendar",
                 id="closure-after-the-calendar"),
    pytest.param('early_closes:\n  - {date: 2026-12-12, close: "13:00", reason: x}\n',
                 "early_closes[0].date", "the exchange is closed", id="early-close-saturday"),
    pytest.param('early_closes:\n  - {date: 2026-01-01, close: "13:00", reason: x}\n',
                 "early_closes[0].date", "(New Year", id="early-close-new-years-day"),
    pytest.param('early_closes:\n  - {date: 2099-06-01, close: "13:00", reason: x}\n',
                 "early_closes[0].date", "is outside", id="early-close-after-the-calendar"),
    pytest.param('early_closes:\n  - {date: 2026-12-09, close: "09:30", reason: x}\n',
                 "early_closes[0].close", "is not between the session's open (09:30)",
                 id="early-close-at-the-open"),
    pytest.param('early_closes:\n  - {date: 2026-12-09, close: "00:00", reason: x}\n',
                 "early_closes[0].close", "open (09:30)", id="early-close-at-midnight"),
    pytest.param('early_closes:\n  - {date: 2026-12-09, close: "23:59", reason: x}\n',
                 "early_closes[0].close", "scheduled close (16:00)",
                 id="early-close-before-midnight"),
    pytest.param('early_closes:\n  - {date: 2026-11-27, close: "13:00", reason: x}\n',
                 "early_closes[0].close", "scheduled close (13:00)",
                 id="early-close-at-the-librarys-early-close"),
    pytest.param('early_closes:\n  - {date: 2026-03-09, close: "16:30", reason: x}\n',
                 "early_closes[0].close", "scheduled close (16:00)",
                 id="early-close-after-the-close-on-the-dst-monday"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "field", "piece"), NOT_FITTING)
def test_override_dates_must_be_sessions_inside_the_calendar(
    tmp_path: Path, text: str, field: str, piece: str
) -> None:
    overrides = load_overrides(write(tmp_path, text))
    with pytest.raises(InvalidInput) as err:
        MarketHoursManager(overrides=overrides)
    (line,) = err.value.lines
    assert line.startswith(f"{field}: ")
    assert piece in line


def test_every_entry_that_does_not_fit_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        "closures:\n  - {date: 2026-12-08, reason: fits}\n  - {date: 2026-12-12, reason: sat}\n"
        'early_closes:\n  - {date: 2026-12-25, close: "13:00", reason: xmas}\n'
        '  - {date: 2026-12-09, close: "17:00", reason: late}\n'
    )
    with pytest.raises(InvalidInput) as err:
        MarketHoursManager(overrides=load_overrides(write(tmp_path, text)))
    assert [line.split(":")[0] for line in err.value.lines] == [
        "closures[1].date",
        "early_closes[0].date",
        "early_closes[1].close",
    ]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('early_closes:\n  - {date: 2026-11-27, close: "12:00", reason: x}\n',
                     id="earlier-than-the-librarys-early-close"),
        pytest.param('early_closes:\n  - {date: 2026-12-09, close: "09:31", reason: x}\n',
                     id="a-minute-after-the-open"),
        pytest.param('early_closes:\n  - {date: 2026-12-09, close: "15:59", reason: x}\n',
                     id="a-minute-before-the-close"),
        pytest.param("closures:\n  - {date: 2026-11-27, reason: x}\n",
                     id="closing-an-early-close-day"),
    ],
)  # fmt: skip
def test_overrides_inside_sessions_are_accepted(tmp_path: Path, text: str) -> None:
    MarketHoursManager(overrides=load_overrides(write(tmp_path, text)))


@pytest.mark.parametrize(
    ("text", "field"),
    [
        pytest.param("closures:\n  - {date: 2026-12-12, reason: x}\n", "closures[0].date",
                     id="saturday"),
        pytest.param('early_closes:\n  - {date: 2026-12-09, close: "16:00", reason: x}\n',
                     "early_closes[0].close", id="at-the-close"),
        pytest.param("closures:\n  - {date: 2026-12-08, reason: a}\n  - {date: 2026-12-08, "
                     "reason: b}\n", "closures[1].date", id="listed-twice"),
        pytest.param("closures:\n  - {date: 2026-12-08, reason: a, reason: b}\n",
                     "closures[0].reason", id="duplicate-key"),
        pytest.param("closures: {date: 2026-12-08, reason: x}\n", "closures", id="not-a-list"),
    ],
)  # fmt: skip
def test_dgas_plan_refuses_overrides_that_do_not_fit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, field: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DGAS_CONFIG", raising=False)
    path = write(tmp_path, text)
    code, out, err = run_dgas(
        "plan", "--start", "2026-12-07", "--end", "2026-12-11", "--overrides", str(path), "--json"
    )
    assert (code, out) == (2, "")
    assert "Traceback" not in err
    assert err.splitlines()[0].startswith(f"dgas: {field}: ")
