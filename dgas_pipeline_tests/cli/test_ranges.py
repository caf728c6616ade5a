"""Instants and ranges the commands cannot serve are refused before anything runs.

Dates the exchange calendar does not cover (`plan`, `bars`, `calendar`, `alerts replay`),
and instants or dates before the first partition (`run-once --at`, `backfill` with and
without `--wait`: Dagster has no partition there, so a run launched for one would fail after
it was created) exit 2 naming the flag, the value and the covered range; no DAGSTER_HOME is
created, no table row changes. What the calendar does cover, it answers, up to its last day.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
import yaml

from dgas_pipeline.market.calendar import calendar_bounds
from dgas_pipeline.store.engine import dispose_engine, make_engine
from dgas_pipeline.store.schema import ensure_schema
from dgas_pipeline.watchlists.service import WatchlistService
from dgas_pipeline_tests.automation.conftest import ONE_RULE
from dgas_pipeline_tests.deployment import forget_code_location, run_dgas
from dgas_pipeline_tests.refusals import assert_refused, files_under, table_rows
from dgas_pipeline_tests.reliability.conftest import dgas_command

FIRST, LAST = calendar_bounds()
BEFORE, AFTER = (FIRST - timedelta(days=1)).isoformat(), (LAST + timedelta(days=1)).isoformat()
CALENDAR = f"({FIRST.isoformat()} to {LAST.isoformat()})"
PARTITIONS = f"2025-01-02 to {LAST.isoformat()}"  # the default partitions_start
DAY = "2026-11-20"
AT = "2026-11-20T11:05:00-05:00"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty working directory, a DAGSTER_HOME not created yet, a database with a row."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    # `dgas --config F` exports DGAS_CONFIG: recorded here so teardown removes it.
    monkeypatch.setenv("DGAS_CONFIG", "-")
    monkeypatch.delenv("DGAS_CONFIG")
    url = f"sqlite:///{tmp_path / 'dgas.db'}"
    monkeypatch.setenv("DGAS_DATABASE_URL", url)
    ensure_schema(url)
    WatchlistService(make_engine(url)).add({"name": "core", "symbols": ["SPY"]})
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(ONE_RULE), encoding="utf-8")
    yield tmp_path
    dispose_engine(url)
    forget_code_location()


def backfill(name: str, start: str, end: str, *more: Any) -> list[Any]:
    """The same backfill refused for the daemon and with --wait."""
    return [
        pytest.param(("backfill", "--start", start, "--end", end, *flags), *more, id=name + how)
        for flags, how in (((), "-daemon"), (("--wait",), "-wait"))
    ]


# (argv, config file or "", field, fragments of the line: the value and the covered range)
REFUSED = [
    # run-once --at: the bar due by then must be a partition
    pytest.param(("run-once", "--at", "2024-12-31T15:00:00-05:00"), "", "--at",
                 ("2024-12-31T15:00:00-05:00", "2025-01-02-09:30", PARTITIONS),
                 id="run-once-before-partitions-start"),
    pytest.param(("run-once", "--at", "2025-01-02T09:59:00-05:00"), "", "--at",
                 ("2025-01-02T09:59", "before the first partition", PARTITIONS),
                 id="run-once-before-the-first-bar-closes"),
    pytest.param(("run-once", "--at", "2025-01-02T10:04:00-05:00"), "data_delay_minutes: 5\n",
                 "--at", ("2025-01-02T10:04", "due 2025-01-02T15:05:00Z"),
                 id="run-once-before-the-first-bar-is-due-after-the-delay"),
    pytest.param(("run-once", "--at", "2026-05-29T15:05:00-04:00"),
                 "partitions_start: 2026-06-01\n", "--at",
                 ("2026-05-29T15:05", "2026-06-01-09:30", f"2026-06-01 to {LAST}"),
                 id="run-once-before-a-configured-partitions-start"),
    pytest.param(("run-once", "--at", f"{BEFORE}T15:00:00Z"), "", "--at", (BEFORE, PARTITIONS),
                 id="run-once-before-the-calendar"),
    pytest.param(("run-once", "--at", "1900-01-02T15:00:00Z"), "", "--at", ("1900-01-02",),
                 id="run-once-in-1900"),
    pytest.param(("run-once", "--at", "0001-01-01T00:00:00+01:00"), "", "--at",
                 ("0001-01-01T00:00:00+01:00", "out of range"), id="run-once-before-year-1-utc"),
    pytest.param(("run-once", "--at", "9999-12-31T23:59:59-01:00"), "", "--at",
                 ("9999-12-31T23:59:59-01:00", "out of range"), id="run-once-after-year-9999-utc"),
    pytest.param(("run-once", "--at", "2099-01-02T10:00:00Z"), "", "--at", ("future",),
                 id="run-once-in-the-future"),
    # backfill, for the daemon and --wait: every date a partition's
    *backfill("backfill-before-partitions-start", "2024-12-02", "2024-12-02", "", "--start",
              ("2024-12-02", PARTITIONS)),
    *backfill("backfill-across-partitions-start", "2024-12-31", "2025-01-03", "", "--start",
              ("2024-12-31", PARTITIONS)),
    *backfill("backfill-before-a-configured-start", "2026-02-27", "2026-03-03",
              "partitions_start: 2026-03-02\n", "--start", ("2026-02-27", f"2026-03-02 to {LAST}")),
    *backfill("backfill-before-the-calendar", BEFORE, DAY, "", "--start", (BEFORE, CALENDAR)),
    *backfill("backfill-after-the-calendar", DAY, AFTER, "", "--end", (AFTER, CALENDAR)),
    *backfill("backfill-year-1", "0001-01-01", DAY, "", "--start", ("0001-01-01", CALENDAR)),
    *backfill("backfill-year-9999", DAY, "9999-12-31", "", "--end", ("9999-12-31", CALENDAR)),
    # the calendar's own range
    pytest.param(("plan", "--start", BEFORE, "--end", FIRST.isoformat()), "", "--start",
                 (BEFORE, CALENDAR), id="plan-start-before-the-calendar"),
    pytest.param(("plan", "--start", LAST.isoformat(), "--end", AFTER), "", "--end",
                 (AFTER, CALENDAR), id="plan-end-after-the-calendar"),
    pytest.param(("plan", "--start", "9999-12-31"), "", "--start", ("9999-12-31", CALENDAR),
                 id="plan-year-9999"),
    pytest.param(("bars", "SPY", "--start", BEFORE, "--end", DAY), "", "--start",
                 (BEFORE, CALENDAR), id="bars-start-before-the-calendar"),
    pytest.param(("bars", "SPY", "--start", DAY, "--end", AFTER), "", "--end", (AFTER, CALENDAR),
                 id="bars-end-after-the-calendar"),
    pytest.param(("calendar", BEFORE), "", "DATE", (BEFORE, CALENDAR),
                 id="calendar-day-before-the-calendar"),
    pytest.param(("calendar", AFTER), "", "DATE", (AFTER, CALENDAR),
                 id="calendar-day-after-the-calendar"),
    pytest.param(("calendar", "0001-01-01"), "", "DATE", ("0001-01-01", CALENDAR),
                 id="calendar-year-1"),
    pytest.param(("alerts", "replay", "rules.yaml", "--start", BEFORE, "--end", DAY), "",
                 "--start", (BEFORE, CALENDAR), id="replay-start-before-the-calendar"),
    pytest.param(("alerts", "replay", "rules.yaml", "--start", DAY, "--end", AFTER), "",
                 "--end", (AFTER, CALENDAR), id="replay-end-after-the-calendar"),
    # bars --timeframe: whole multiples of the interval only
    pytest.param(("bars", "SPY", "--start", DAY, "--end", DAY, "--timeframe", "45min"), "",
                 "--timeframe", ("45min", "interval 30min"), id="timeframe-45min-of-30min"),
    pytest.param(("bars", "SPY", "--start", DAY, "--end", DAY, "--timeframe", "10min"), "",
                 "--timeframe", ("10min", "interval 30min"), id="timeframe-finer-than-30min"),
    pytest.param(("bars", "SPY", "--start", DAY, "--end", DAY, "--timeframe", "50min"), "",
                 "--timeframe", ("50min", "interval 30min"), id="timeframe-50min-of-30min"),
    pytest.param(("bars", "SPY", "--start", DAY, "--end", DAY, "--timeframe", "20min"),
                 "interval: 15min\n", "--timeframe", ("20min", "interval 15min"),
                 id="timeframe-20min-of-15min"),
    pytest.param(("bars", "SPY", "--start", DAY, "--end", DAY, "--timeframe="), "",
                 "--timeframe", ("''",), id="timeframe-empty"),
    # run-once --symbols: no more than a cycle takes
    pytest.param(("run-once", "--at", AT, "--symbols", "SPY,AAPL,MSFT"),
                 "symbols: [SPY]\nmax_symbols_per_cycle: 2\n", "--symbols",
                 ("3 tickers", "max_symbols_per_cycle (2)"), id="symbols-beyond-a-limit-of-2"),
    pytest.param(("run-once", "--at", AT, "--symbols", ",".join(f"S{i}" for i in range(51))), "",
                 "--symbols", ("51 tickers", "max_symbols_per_cycle (50)"),
                 id="symbols-beyond-the-default-50"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "config", "field", "fragments"), REFUSED)
def test_a_range_the_command_cannot_serve_is_refused_and_nothing_is_stored(
    workdir: Path, argv: tuple[str, ...], config: str, field: str, fragments: tuple[str, ...]
) -> None:
    if config:
        (workdir / "c.yaml").write_text(config, encoding="utf-8")
        argv = (*argv, "--config", "c.yaml")
    url = os.environ["DGAS_DATABASE_URL"]
    before = files_under(workdir), table_rows(url)
    code, out, err = run_dgas(*argv, "--json")
    assert_refused(code, out, err, field, *fragments)
    assert not (workdir / "dagster_home").exists()  # no run launched, not even prepared
    assert (files_under(workdir), table_rows(url)) == before


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (("run-once", "--at", "2024-12-31T15:00:00-05:00"), "--at"),
        (("backfill", "--start", "2024-12-02", "--end", "2024-12-02", "--wait"), "--start"),
        (("calendar", AFTER), "DATE"),
    ],
    ids=["run-once", "backfill-wait", "calendar"],
)
def test_a_refused_range_prints_no_traceback_from_the_installed_script(
    workdir: Path, argv: tuple[str, ...], field: str
) -> None:
    command = dgas_command()
    done = subprocess.run(
        [*command, *argv], cwd=workdir, capture_output=True, text=True, timeout=120, check=False
    )
    assert_refused(done.returncode, done.stdout, done.stderr, field)
    assert not (workdir / "dagster_home").exists()


# -- what the ranges do cover is answered ---------------------------------------------------


@pytest.mark.parametrize(
    ("timeframe", "config", "bars"),
    [("1h", "", 7), ("90min", "", 5), ("4h", "", 2), ("45min", "interval: 15min\n", 9)],
    ids=["1h", "90min", "4h", "45min-of-15min"],
)
def test_a_timeframe_that_is_a_whole_multiple_of_the_interval_is_answered(
    workdir: Path, timeframe: str, config: str, bars: int
) -> None:
    if config:
        (workdir / "c.yaml").write_text(config, encoding="utf-8")
    argv = ("bars", "SPY", "--start", DAY, "--end", DAY, "--timeframe", timeframe, "--json")
    code, out, err = run_dgas(*argv, *(("--config", "c.yaml") if config else ()))
    assert (code, err) == (0, "")
    assert len(json.loads(out)["bars"]) == bars


def last_days() -> list[date]:
    """The last week the calendar covers, weekend and all."""
    return [LAST - timedelta(days=n) for n in range(6, -1, -1)]


@pytest.mark.parametrize("day", [FIRST, *last_days()], ids=str)
def test_the_calendar_answers_every_day_it_covers_up_to_its_last(workdir: Path, day: date) -> None:
    code, out, err = run_dgas("calendar", day.isoformat(), "--json")
    assert (code, err) == (0, "")
    answer = json.loads(out)
    assert answer["date"] == day.isoformat()
    if answer["next_open"] is not None:
        assert answer["next_open"][:10] > day.isoformat()
    if answer["is_trading_day"]:
        assert answer["launches"][-1]["kind"] == "eod"


def test_the_last_days_have_no_next_open_and_the_days_before_them_do(workdir: Path) -> None:
    answers = {}
    for day in last_days():
        code, out, _ = run_dgas("calendar", day.isoformat(), "--json")
        assert code == 0
        answers[day] = json.loads(out)
    last_session = max(day for day, answer in answers.items() if answer["is_trading_day"])
    for day, answer in answers.items():
        if day >= last_session:
            assert answer["next_open"] is None, day
        else:
            assert answer["next_open"] is not None, day
    code, out, _ = run_dgas("calendar", last_session.isoformat())
    assert code == 0 and "next open: -" in out


# -- a range with nothing to plan says why --------------------------------------------------

WEDNESDAY_BEFORE_THANKSGIVING = datetime(2026, 11, 25, 12, 0, tzinfo=ZoneInfo("America/New_York"))


@pytest.mark.parametrize(
    ("start", "end", "why"),
    [
        ("2025-11-27", "2025-11-27", "no session in the range (2025-11-27: Thanksgiving)"),
        ("2025-12-06", "2025-12-07", "(2025-12-06: weekend, 2025-12-07: weekend)"),
        (
            "2026-11-26",
            "2026-11-29",
            "no bar of the range is due yet (its first session is 2026-11-27)",
        ),
        ("2026-12-24", "2026-12-31", "its first session is 2026-12-24"),
    ],
    ids=["holiday", "weekend", "sessions-still-to-come", "year-end-to-come"],
)
@pytest.mark.parametrize("wait", [(), ("--wait",)], ids=["daemon", "wait"])
def test_a_range_with_nothing_to_plan_says_why(
    workdir: Path, start: str, end: str, why: str, wait: tuple[str, ...]
) -> None:
    with time_machine.travel(WEDNESDAY_BEFORE_THANKSGIVING, tick=False):
        code, out, err = run_dgas("backfill", "--start", start, "--end", end, *wait)
        assert (code, err) == (0, "")
        assert out.startswith("launched 0, already done 0; ") and why in out
        code, out, _ = run_dgas("backfill", "--start", start, "--end", end, *wait, "--json")
    assert code == 0 and why in json.loads(out)["nothing_planned"]


def test_a_range_that_plans_bars_gives_no_such_reason(workdir: Path) -> None:
    with time_machine.travel(WEDNESDAY_BEFORE_THANKSGIVING, tick=False):
        code, out, _ = run_dgas(
            "backfill", "--start", "2026-11-20", "--end", "2026-11-20", "--json"
        )
    assert code == 0
    answer = json.loads(out)
    assert answer["launched"] > 0 and "nothing_planned" not in answer
