"""`dgas plan | calendar | config validate`: JSON for scripts, one-line errors for people.

Expected launches and sessions are written out by hand from the NYSE rules; the command runs
in an empty working directory so no developer's ./dgas.yaml leaks in.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from dgas_pipeline.cli.main import main
from dgas_pipeline.cli.parser import build_parser, subcommands

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "dgas.example.yaml"
DGAS = Path(sys.executable).with_name("dgas")

OVERRIDES = """\
closures:
  - {date: 2026-12-08, reason: "Day of mourning"}
early_closes:
  - {date: 2026-12-09, close: "13:00", reason: "Exchange notice"}
"""


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DGAS_CONFIG", raising=False)


def dgas(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run `dgas argv` in-process: (exit code, stdout, stderr)."""
    try:
        code = main(list(argv))
    except SystemExit as stop:  # argparse's own complaints
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


def dgas_process(
    cwd: Path, *argv: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed `dgas` script: what a user's shell or script sees."""
    env = {k: v for k, v in os.environ.items() if k != "DGAS_CONFIG"} | (env or {})
    command = [str(DGAS)] if DGAS.exists() else [sys.executable, "-m", "dgas_pipeline.cli"]
    return subprocess.run(
        [*command, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def as_json(out: str) -> dict[str, Any]:
    return json.loads(out)  # the whole of stdout must be the one JSON document


# -- dgas plan: Thanksgiving week, for real ----------------------------------------------------


@pytest.fixture(scope="module")
def thanksgiving_week(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    done = dgas_process(
        tmp_path_factory.mktemp("cwd"),
        *("plan", "--start", "2026-11-23", "--end", "2026-11-30", "--data-delay", "2", "--json"),
    )
    assert (done.returncode, done.stderr) == (0, "")
    return as_json(done.stdout)


def test_plan_of_thanksgiving_week_has_no_launch_on_thanksgiving(
    thanksgiving_week: dict[str, Any],
) -> None:
    days = Counter(x["partition_key"][:10] for x in thanksgiving_week["launches"])
    assert days == {
        "2026-11-23": 14,
        "2026-11-24": 14,
        "2026-11-25": 14,
        "2026-11-27": 8,
        "2026-11-30": 14,
    }


def test_plan_lists_exactly_seven_cycles_on_the_early_close(
    thanksgiving_week: dict[str, Any],
) -> None:
    friday = [
        x
        for x in thanksgiving_week["launches"]
        if x["kind"] == "cycle" and x["partition_key"].startswith("2026-11-27")
    ]
    assert [x["partition_key"][11:] for x in friday] == [
        "09:30",
        "10:00",
        "10:30",
        "11:00",
        "11:30",
        "12:00",
        "12:30",
    ]
    assert friday[0] == {
        "kind": "cycle",
        "partition_key": "2026-11-27-09:30",
        "bar_start": "2026-11-27T14:30:00Z",
        "bar_end": "2026-11-27T15:00:00Z",
        "due": "2026-11-27T15:02:00Z",
    }
    assert (friday[-1]["bar_end"], friday[-1]["due"]) == (
        "2026-11-27T18:00:00Z",
        "2026-11-27T18:02:00Z",
    )


def test_plan_eod_rows_have_no_bar_fields(thanksgiving_week: dict[str, Any]) -> None:
    eods = [x for x in thanksgiving_week["launches"] if x["kind"] == "eod"]
    assert [x["partition_key"] for x in eods] == [
        "2026-11-23",
        "2026-11-24",
        "2026-11-25",
        "2026-11-27",
        "2026-11-30",
    ]
    assert all(set(x) == {"kind", "partition_key", "due"} for x in eods)
    assert eods[3]["due"] == "2026-11-27T18:20:00Z"  # 13:20 ET
    assert eods[0]["due"] == "2026-11-23T21:20:00Z"  # 16:20 ET


def test_plan_is_sorted_by_due_then_kind(thanksgiving_week: dict[str, Any]) -> None:
    launches = thanksgiving_week["launches"]
    assert launches == sorted(launches, key=lambda x: (x["due"], x["kind"]))


def test_plan_with_eod_delay_0_puts_the_last_cycle_before_the_eod(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = dgas(capsys, "plan", "--start", "2026-11-23", "--end", "2026-11-23",
                        "--eod-delay", "0", "--json")  # fmt: skip
    assert code == 0
    tail = [(x["kind"], x["due"]) for x in as_json(out)["launches"][-2:]]
    assert tail == [("cycle", "2026-11-23T21:00:00Z"), ("eod", "2026-11-23T21:00:00Z")]


@pytest.mark.parametrize(
    ("interval", "count", "last_bar"),
    [
        ("15min", 26, ("2026-11-23T20:45:00Z", "2026-11-23T21:00:00Z")),
        ("30min", 13, ("2026-11-23T20:30:00Z", "2026-11-23T21:00:00Z")),
        ("45min", 9, ("2026-11-23T20:30:00Z", "2026-11-23T21:00:00Z")),
        ("1h", 7, ("2026-11-23T20:30:00Z", "2026-11-23T21:00:00Z")),
    ],
)
def test_plan_interval_flag_sets_the_bars_and_the_last_is_cut_at_16_00(
    capsys: pytest.CaptureFixture[str], interval: str, count: int, last_bar: tuple[str, str]
) -> None:
    code, out, _ = dgas(capsys, "plan", "--start", "2026-11-23", "--end", "2026-11-23",
                        "--interval", interval, "--json")  # fmt: skip
    assert code == 0
    bars = [x for x in as_json(out)["launches"] if x["kind"] == "cycle"]
    assert len(bars) == count
    assert (bars[-1]["bar_start"], bars[-1]["bar_end"]) == last_bar


def test_plan_across_dst_keeps_keys_and_moves_dues(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = dgas(capsys, "plan", "--start", "2026-10-30", "--end", "2026-11-02", "--json")
    assert code == 0
    first = {x["partition_key"]: x["due"] for x in as_json(out)["launches"]
             if x["partition_key"].endswith("-09:30")}  # fmt: skip
    assert first == {
        "2026-10-30-09:30": "2026-10-30T14:00:00Z",
        "2026-11-02-09:30": "2026-11-02T15:00:00Z",
    }


def test_plan_flag_defaults_come_from_the_config_and_flags_win(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "dgas.yaml").write_text("data_delay_minutes: 3\n", encoding="utf-8")
    argv = ("plan", "--start", "2026-11-27", "--end", "2026-11-27", "--json")
    _, out, _ = dgas(capsys, *argv)
    assert as_json(out)["launches"][0]["due"] == "2026-11-27T15:03:00Z"
    _, out, _ = dgas(capsys, *argv, "--data-delay", "5")
    assert as_json(out)["launches"][0]["due"] == "2026-11-27T15:05:00Z"


def test_plan_with_overrides_skips_the_closure_and_cuts_the_early_close(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "overrides.yaml").write_text(OVERRIDES, encoding="utf-8")
    code, out, _ = dgas(capsys, "plan", "--start", "2026-12-07", "--end", "2026-12-09",
                        "--overrides", "overrides.yaml", "--json")  # fmt: skip
    assert code == 0
    days = Counter(x["partition_key"][:10] for x in as_json(out)["launches"])
    assert days == {"2026-12-07": 14, "2026-12-09": 8}


def test_plan_text_output_is_a_table_for_people(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = dgas(capsys, "plan", "--start", "2026-11-27", "--end", "2026-11-27")
    assert (code, err) == (0, "")
    assert "2026-11-27-12:30" in out
    assert out.rstrip().endswith("8 launches")


# -- dgas calendar -------------------------------------------------------------------------------

# date -> (is_trading_day, open, close, early_close, reason fragment or None, next_open, launches)
CALENDAR = [
    pytest.param("2026-11-26", False, None, None, False, "Thanksgiving", "2026-11-27T14:30:00Z", 0,
                 id="thanksgiving"),
    pytest.param("2026-11-27", True, "2026-11-27T14:30:00Z", "2026-11-27T18:00:00Z", True, "",
                 "2026-11-30T14:30:00Z", 8, id="early-close-after-thanksgiving"),
    pytest.param("2026-12-24", True, "2026-12-24T14:30:00Z", "2026-12-24T18:00:00Z", True,
                 "Christmas Eve", "2026-12-28T14:30:00Z", 8, id="christmas-eve"),
    pytest.param("2026-12-25", False, None, None, False, "Christmas", "2026-12-28T14:30:00Z", 0,
                 id="christmas"),
    pytest.param("2026-12-31", True, "2026-12-31T14:30:00Z", "2026-12-31T21:00:00Z", False, None,
                 "2027-01-04T14:30:00Z", 14, id="new-years-eve"),
    pytest.param("2027-01-01", False, None, None, False, "New Year", "2027-01-04T14:30:00Z", 0,
                 id="new-years-day"),
    pytest.param("2026-07-03", False, None, None, False, "July 4", "2026-07-06T13:30:00Z", 0,
                 id="july-4-observed-friday"),
    pytest.param("2027-07-05", False, None, None, False, "July 4", "2027-07-06T13:30:00Z", 0,
                 id="july-4-observed-monday"),
    pytest.param("2026-06-19", False, None, None, False, "Juneteenth", "2026-06-22T13:30:00Z", 0,
                 id="juneteenth-2026"),
    pytest.param("2027-06-18", False, None, None, False, "Juneteenth", "2027-06-21T13:30:00Z", 0,
                 id="juneteenth-2027-observed"),
    pytest.param("2026-11-28", False, None, None, False, "weekend", "2026-11-30T14:30:00Z", 0,
                 id="saturday"),
    pytest.param("2026-03-09", True, "2026-03-09T13:30:00Z", "2026-03-09T20:00:00Z", False, None,
                 "2026-03-10T13:30:00Z", 14, id="first-edt-monday"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("day", "trading", "opens", "closes", "early", "reason", "next_open", "launches"), CALENDAR
)
def test_calendar_json_answers_for_the_day(
    capsys: pytest.CaptureFixture[str],
    day: str,
    trading: bool,
    opens: str | None,
    closes: str | None,
    early: bool,
    reason: str | None,
    next_open: str,
    launches: int,
) -> None:
    code, out, err = dgas(capsys, "calendar", day, "--json")
    assert (code, err) == (0, "")
    answer = as_json(out)
    assert set(answer) == {
        "date", "is_trading_day", "open", "close", "early_close", "reason", "next_open", "launches"
    }  # fmt: skip
    assert (answer["date"], answer["is_trading_day"]) == (day, trading)
    assert (answer["open"], answer["close"], answer["early_close"]) == (opens, closes, early)
    if reason is None:
        assert answer["reason"] is None
    else:
        assert reason in answer["reason"]
    assert answer["next_open"] == next_open
    assert len(answer["launches"]) == launches


@pytest.mark.parametrize(
    ("day", "trading", "closes", "reason"),
    [
        ("2026-12-08", False, None, "Day of mourning"),
        ("2026-12-09", True, "2026-12-09T18:00:00Z", "Exchange notice"),
    ],
    ids=["adhoc-closure", "adhoc-early-close"],
)
def test_calendar_shows_the_override_and_its_reason(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    day: str,
    trading: bool,
    closes: str | None,
    reason: str,
) -> None:
    (tmp_path / "overrides.yaml").write_text(OVERRIDES, encoding="utf-8")
    code, out, _ = dgas(capsys, "calendar", day, "--overrides", "overrides.yaml", "--json")
    assert code == 0
    answer = as_json(out)
    assert (answer["is_trading_day"], answer["close"], answer["reason"]) == (
        trading,
        closes,
        reason,
    )


def test_calendar_overrides_file_from_the_config(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "overrides.yaml").write_text(OVERRIDES, encoding="utf-8")
    (tmp_path / "dgas.yaml").write_text(
        "calendar:\n  overrides_file: overrides.yaml\n", encoding="utf-8"
    )
    code, out, _ = dgas(capsys, "calendar", "2026-12-08", "--json")
    assert code == 0
    assert as_json(out)["reason"] == "Day of mourning"


def test_calendar_text_says_why_the_market_is_closed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = dgas(capsys, "calendar", "2026-11-26")
    assert code == 0
    assert "market closed (Thanksgiving)" in out
    assert "next open: Fri 2026-11-27 09:30 EST" in out


# -- dgas config validate ---------------------------------------------------------------------


def test_config_validate_accepts_the_example_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = dgas(capsys, "config", "validate", str(EXAMPLE))
    assert (code, err) == (0, "")
    assert out.strip() == f"{EXAMPLE}: valid"


def test_config_validate_json_is_one_document_and_nothing_else(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = dgas(capsys, "config", "validate", str(EXAMPLE), "--json")
    assert (code, err) == (0, "")
    answer = as_json(out)
    assert answer["valid"] is True
    assert answer["file"] == str(EXAMPLE)
    assert answer["config"]["interval"] == "30min"
    assert answer["config"]["calendar"] == {
        "exchange": "XNYS",
        "overrides_file": None,
        "history_start": "2016-01-01",
    }


def test_config_validate_without_a_file_checks_the_defaults(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = dgas(capsys, "config", "validate", "--json")
    assert code == 0
    assert as_json(out)["file"] is None


def test_config_validate_json_via_the_installed_script(tmp_path: Path) -> None:
    done = dgas_process(tmp_path, "config", "validate", str(EXAMPLE), "--json")
    assert (done.returncode, done.stderr) == (0, "")
    assert as_json(done.stdout)["valid"] is True


# -- bad input: exit 2, one line per problem naming the field and the value ----------------------

BAD_OVERRIDE = {
    "bad-date": 'closures:\n  - {date: 2026-13-01, reason: "x"}\n',
    "close-25": 'early_closes:\n  - {date: 2026-12-09, close: "25:00", reason: "x"}\n',
    "unquoted": 'early_closes:\n  - {date: 2026-12-09, close: 13:00, reason: "x"}\n',
    "late-close": 'early_closes:\n  - {date: 2026-12-09, close: "17:00", reason: "x"}\n',
    "no-reason": "closures:\n  - {date: 2026-12-08}\n",
    "twice": "closures:\n  - {date: 2026-12-08, reason: a}\n  - {date: 2026-12-08, reason: b}\n",
    "unknown-key": "closures:\n  - {date: 2026-12-08, reason: a, why: b}\n",
}
PLAN = ("plan", "--start", "2026-12-07", "--end", "2026-12-11")

# (argv, files to write in the working directory, [(field, value) per stderr line])
BAD = [
    # CLI flags
    pytest.param(("plan", "--start", "2026-02-30", "--end", "2026-03-02"), {},
                 [("--start", "2026-02-30")], id="start-feb-30"),
    pytest.param(("plan", "--start", "next monday"), {}, [("--start", "next monday")],
                 id="start-not-a-date"),
    pytest.param(("plan", "--start", ""), {}, [("--start", "''")], id="start-empty"),
    pytest.param(("plan", "--start", "2026-11-30", "--end", "2026-11-23"), {},
                 [("--end", "2026-11-23")], id="end-before-start"),
    pytest.param(("plan", "--start", "2100-01-04", "--end", "2100-01-05"), {},
                 [("--start", "2100-01-04")], id="start-outside-calendar"),
    pytest.param(("plan", "--start", "2026-11-23", "--end", "2100-01-05"), {},
                 [("--end", "2100-01-05")], id="end-outside-calendar"),
    pytest.param((*PLAN, "--interval", "7x"), {}, [("--interval", "7x")], id="interval-7x"),
    pytest.param((*PLAN, "--interval", "0min"), {}, [("--interval", "0min")], id="interval-zero"),
    pytest.param((*PLAN, "--interval", ""), {}, [("--interval", "''")], id="interval-empty"),
    pytest.param((*PLAN, "--interval", "100000000000h"), {}, [("--interval", "100000000000h")],
                 id="interval-huge"),
    pytest.param((*PLAN, "--data-delay", "-5"), {}, [("--data-delay", "-5")],
                 id="negative-data-delay"),
    pytest.param((*PLAN, "--data-delay", "2.5"), {}, [("--data-delay", "2.5")],
                 id="fractional-data-delay"),
    pytest.param((*PLAN, "--data-delay", "100000000000"), {}, [("--data-delay", "100000000000")],
                 id="huge-data-delay"),
    pytest.param((*PLAN, "--eod-delay", "-1"), {}, [("--eod-delay", "-1")],
                 id="negative-eod-delay"),
    pytest.param((*PLAN, "--bogus"), {}, [("--bogus", "is not an option of dgas plan")],
                 id="unknown-flag"),
    pytest.param(("plan", "--start"), {}, [("--start", "expected one argument")],
                 id="flag-without-value"),
    pytest.param(("calendar", "2026-13-01"), {}, [("DATE", "2026-13-01")], id="calendar-month-13"),
    pytest.param(("calendar", "1990-01-02"), {}, [("DATE", "1990-01-02")],
                 id="calendar-outside-calendar"),
    pytest.param((*PLAN, "--overrides", "missing.yaml"), {}, [("overrides", "missing.yaml")],
                 id="overrides-file-missing"),
    # config fields, through `config validate` and through `--config` of another command
    pytest.param(("config", "validate", "c.yaml"), {"c.yaml": "intervall: 30min\n"},
                 [("intervall", "<not shown>")], id="config-unknown-key"),
    pytest.param(("config", "validate", "c.yaml"), {"c.yaml": 'symbols: [AAPL, "BRK B"]\n'},
                 [("symbols[1]", "BRK B")], id="config-ticker-with-space"),
    pytest.param(("config", "validate", "c.yaml"), {"c.yaml": "interval: 1h\n"},
                 [("interval", "1h")], id="config-interval-1h-rejected-for-partitions"),
    pytest.param(("config", "validate", "c.yaml"),
                 {"c.yaml": "enabled_timeframes: [30min, 1h, 4h]\n"},
                 [("enabled_timeframes", "30min")], id="config-timeframes-ascending"),
    pytest.param(("config", "validate", "c.yaml"), {"c.yaml": "min_confidence: 1.5\n"},
                 [("min_confidence", "1.5")], id="config-min-confidence-above-1"),
    pytest.param(("config", "validate", "c.yaml"),
                 {"c.yaml": "database_url: postgresql://dgas:hunter2@db:5432/dgas\n"},
                 [("database_url", "postgresql://dgas:***@db:5432/dgas")],
                 id="config-database-url-with-password"),
    pytest.param(("config", "validate", "c.yaml"), {"c.yaml": "calendar: {exchange: NOPE}\n"},
                 [("calendar.exchange", "NOPE")], id="config-unknown-exchange"),
    pytest.param(("config", "validate", "c.yaml"), {"c.yaml": "interval: [30min\n"},
                 [("config", "c.yaml")], id="config-bad-yaml"),
    pytest.param(("config", "validate", "c.yaml"), {"c.yaml": "- interval\n- 30min\n"},
                 [("config", "c.yaml")], id="config-not-a-mapping"),
    pytest.param(("config", "validate", "nope.yaml"), {}, [("config", "nope.yaml")],
                 id="config-file-missing"),
    pytest.param(("config", "validate", "c.yaml"),
                 {"c.yaml": "intervall: 30min\nmin_confidence: 1.5\n"},
                 [("min_confidence", "1.5"), ("intervall", "<not shown>")],
                 id="config-two-problems"),
    pytest.param((*PLAN, "--config", "c.yaml"), {"c.yaml": "interval: 45min\n"},
                 [("interval", "45min")], id="plan-with-bad-config"),
    pytest.param(("config", "validate", "c.yaml"),
                 {"c.yaml": "calendar: {overrides_file: o.yaml}\n",
                  "o.yaml": BAD_OVERRIDE["twice"]},
                 [("closures[1].date", "2026-12-08")], id="config-with-bad-overrides-file"),
    # overrides files
    pytest.param((*PLAN, "--overrides", "o.yaml"), {"o.yaml": BAD_OVERRIDE["bad-date"]},
                 [("closures[0].date", "2026-13-01")], id="overrides-bad-date"),
    pytest.param((*PLAN, "--overrides", "o.yaml"), {"o.yaml": BAD_OVERRIDE["close-25"]},
                 [("early_closes[0].close", "25:00")], id="overrides-close-25-00"),
    pytest.param((*PLAN, "--overrides", "o.yaml"), {"o.yaml": BAD_OVERRIDE["unquoted"]},
                 [("early_closes[0].close", "13:00")], id="overrides-unquoted-13-00"),
    pytest.param((*PLAN, "--overrides", "o.yaml"), {"o.yaml": BAD_OVERRIDE["late-close"]},
                 [("early_closes[0].close", "17:00")], id="overrides-close-after-16-00"),
    pytest.param((*PLAN, "--overrides", "o.yaml"), {"o.yaml": BAD_OVERRIDE["no-reason"]},
                 [("closures[0].reason", "None")], id="overrides-missing-reason"),
    pytest.param((*PLAN, "--overrides", "o.yaml"), {"o.yaml": BAD_OVERRIDE["twice"]},
                 [("closures[1].date", "2026-12-08")], id="overrides-duplicate-date"),
    pytest.param((*PLAN, "--overrides", "o.yaml"), {"o.yaml": BAD_OVERRIDE["unknown-key"]},
                 [("closures[0].why", "<not shown>")], id="overrides-unknown-key"),
    pytest.param(("calendar", "2026-12-09", "--overrides", "o.yaml"),
                 {"o.yaml": BAD_OVERRIDE["late-close"]},
                 [("early_closes[0].close", "17:00")], id="calendar-with-bad-overrides"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "files", "expected"), BAD)
def test_bad_input_exits_2_with_one_line_per_problem_naming_field_and_value(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    argv: tuple[str, ...],
    files: dict[str, str],
    expected: list[tuple[str, str]],
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    code, out, err = dgas(capsys, *argv, "--json")
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == len(expected), err
    for (field, value), line in zip(expected, lines, strict=True):
        assert line.startswith(f"dgas: {field}"), line
        assert value in line, line
    assert "hunter2" not in err


@pytest.mark.parametrize(
    ("argv", "files", "field"),
    [
        (("plan", "--start", "2026-11-23", "--bogus"), {}, "--bogus: is not an option"),
        (("plan", "--start", "2026-11-23", "--data-delay", "-5", "--json"), {}, "--data-delay"),
        (("plan", "--start", "2026-12-07", "--overrides", "o.yaml", "--json"),
         {"o.yaml": BAD_OVERRIDE["bad-date"]}, "closures[0].date"),
        (("config", "validate", "c.yaml", "--json"),
         {"c.yaml": "database_url: postgresql://dgas:hunter2@db/dgas\n"}, "database_url"),
    ],
    ids=["unknown-flag", "negative-delay", "overrides-month-13", "password"],
)  # fmt: skip
def test_bad_input_through_the_installed_script_prints_no_traceback(
    tmp_path: Path, argv: tuple[str, ...], files: dict[str, str], field: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    done = dgas_process(tmp_path, *argv)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert "hunter2" not in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith(f"dgas: {field}")


# -- help: every command listed, each with examples that parse -----------------------------------


def all_parsers() -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Every parser of the command tree by its path: () is `dgas` itself."""
    found: dict[tuple[str, ...], argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        found[path] = parser
        for name, sub in subcommands(parser).items():
            walk(sub, (*path, name))

    walk(build_parser(), ())
    return found


def examples_of(parser: argparse.ArgumentParser) -> list[str]:
    head, _, body = (parser.epilog or "").partition("\n")
    assert head == "examples:", parser.prog
    return [line.strip() for line in body.splitlines()]


def test_top_level_help_lists_every_command_on_one_line(tmp_path: Path) -> None:
    done = dgas_process(tmp_path, "--help", env={"COLUMNS": "80"})
    assert (done.returncode, done.stderr) == (0, "")
    section = done.stdout.split("\ncommands:\n")[1].split("\n\n")[0].splitlines()[1:]
    names = [line.split()[0] for line in section]
    assert names == list(subcommands(build_parser())), "a line that is not a command's own"
    for line in section:
        assert re.fullmatch(r"    [a-z-]+ {2,}\S.*", line), f"description not on the line: {line!r}"
    assert max(len(line) for line in done.stdout.splitlines()) <= 78
    assert "examples:\n  dgas " in done.stdout


@pytest.mark.parametrize("path", list(all_parsers()), ids=lambda p: " ".join(p) or "dgas")
def test_every_command_has_examples_that_parse(path: tuple[str, ...]) -> None:
    examples = examples_of(all_parsers()[path])
    assert examples
    for example in examples:
        assert len(example) + 2 <= 78, f"wider than a terminal: {example}"
        command = shlex.split(re.split(r"\s(?:#|>|\|)\s", example)[0])
        assert command[0] == "dgas"
        if path:  # a command's examples are of that command
            assert tuple(command[1 : 1 + len(path)]) == path, example
        try:
            args = build_parser().parse_args(command[1:])
        except SystemExit:
            pytest.fail(f"example does not parse: {example}")
        assert getattr(args, "handler", None), f"example runs no command: {example}"


def test_a_command_help_shows_its_examples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = dgas(capsys, "status", "--help")
    assert code == 0
    assert out.rstrip().endswith("examples:\n  dgas status\n  dgas status --json --config "
                                 "/etc/dgas/dgas.yaml")  # fmt: skip


@pytest.mark.parametrize(
    ("exchange", "header", "first_due", "opens"),
    [
        ("XNYS", "due (ET)", "Wed 2026-07-01 10:00 EDT", "open Wed 2026-07-01 09:30 EDT"),
        (
            "XLON",
            "due (Europe/London)",
            "Wed 2026-07-01 08:30 BST",
            "open Wed 2026-07-01 08:00 BST",
        ),
        ("XTKS", "due (Asia/Tokyo)", "Wed 2026-07-01 09:30 JST", "open Wed 2026-07-01 09:00 JST"),
    ],
)
def test_plan_and_calendar_tables_show_times_in_the_exchange_zone(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    exchange: str,
    header: str,
    first_due: str,
    opens: str,
) -> None:
    config = tmp_path / "dgas.yaml"
    config.write_text(f"calendar:\n  exchange: {exchange}\n", encoding="utf-8")
    code, out, _ = dgas(
        capsys, "plan", "--config", str(config), "--start", "2026-07-01", "--end", "2026-07-01"
    )
    head, first = out.splitlines()[:2]
    assert (code, head.split("  ")[0], first.startswith(first_due)) == (0, header, True)
    code, out, _ = dgas(capsys, "calendar", "--config", str(config), "2026-07-01")
    assert code == 0 and opens in out.splitlines()[0]
    assert header in out
