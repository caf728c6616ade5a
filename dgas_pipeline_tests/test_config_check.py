"""`check_config`: a config that validates runs.

Two tables. What a run needs beyond the fields (the exchange clock, partitions Dagster can
build, history inside the calendar, the overrides and alert-rules files, the bar files and the
log file on this machine) is refused by `dgas config validate` (exit 2, each field named,
nothing created). And configs that validate, at the edges of every bound, run: `dgas run-once`
on each ends SUCCESS on a real Dagster instance, so nothing the config allows fails inside a
run (an OverflowError, a partition key off the grid, a ticker a provider refuses...).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from dgas_pipeline.config import validate_config
from dgas_pipeline.config_check import check_config
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market import MarketHoursManager
from dgas_pipeline_tests.deployment import Deployment, deployed, isolate, run_dgas

RULE = {
    "name": "spy-up",
    "symbols": ["SPY"],
    "timeframe": "30min",
    "when": {"field": "close", "op": "gt", "value": 1},
}


@pytest.fixture(scope="module")
def market() -> MarketHoursManager:
    return MarketHoursManager()


def _today() -> date:
    return datetime.now(UTC).date()


def _write(tmp: Path, name: str, content: Any) -> str:
    path = tmp / name
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content), "utf-8")
    return name


def _overrides(text: str) -> Callable[[Path], dict[str, Any]]:
    return lambda tmp: {"calendar": {"overrides_file": _write(tmp, "o.yaml", text)}}


def _files_dir_is_a_file(tmp: Path) -> dict[str, Any]:
    return {"provider": {"chain": ["files"], "files_dir": _write(tmp, "bars.csv", "x")}}


def _log_under_a_file(tmp: Path) -> dict[str, Any]:
    return {"logging": {"file": {"path": f"{_write(tmp, 'plain', 'x')}/logs/dgas.log"}}}


def _log_is_a_directory(tmp: Path) -> dict[str, Any]:
    (tmp / "logs").mkdir()
    return {"logging": {"file": {"path": "logs"}}}


def _first_day_plus(days: int) -> Callable[[Path], dict[str, Any]]:
    def config(tmp: Path) -> dict[str, Any]:
        start = MarketHoursManager().first_day + timedelta(days=days)
        return {"partitions_start": start.isoformat(), "history_sessions": 250}

    return config


# (config made in the working directory, the fields named, a piece of the first line)
REFUSED = [
    pytest.param(lambda tmp: {"partitions_start": (_today() + timedelta(days=2)).isoformat()},
                 ["partitions_start"], "is in the future", id="partitions-start-in-the-future"),
    pytest.param(lambda tmp: {"partitions_start": "1999-01-04"}, ["partitions_start"],
                 "is outside the XNYS calendar", id="partitions-start-before-the-calendar"),
    pytest.param(_first_day_plus(30), ["history_sessions"],
                 "reach before the XNYS calendar's first day", id="history-before-the-calendar"),
    pytest.param(lambda tmp: {"calendar": {"exchange": "CMES"}}, ["calendar.exchange"],
                 "across midnight", id="exchange-with-overnight-sessions"),
    pytest.param(lambda tmp: {"calendar": {"exchange": "AIXK"}}, ["calendar.exchange"],
                 "has no calendar over", id="exchange-younger-than-the-calendar"),
    pytest.param(lambda tmp: {"calendar": {"exchange": "XBEL"}}, ["calendar.exchange"],
                 "has no calendar over", id="exchange-whose-rules-pandas-cannot-apply"),
    pytest.param(_overrides("closures:\n  - {date: 2026-12-12, reason: x}\n"),
                 ["closures[0].date"], "(a Saturday)", id="overrides-closure-on-a-saturday"),
    pytest.param(_overrides('early_closes:\n  - {date: 2026-12-09, close: "16:00", reason: x}\n'),
                 ["early_closes[0].close"], "its scheduled close (16:00)",
                 id="overrides-early-close-at-the-close"),
    pytest.param(_overrides("closures: [\n"), ["overrides"], "is not valid YAML",
                 id="overrides-not-yaml"),
    pytest.param(lambda tmp: {"alerts_file": _write(tmp, "r.yaml",
                                                    {"alerts": [{**RULE, "channels": ["pager"]}]})},
                 ["alerts[0].channels[0]"], "is not a configured channel",
                 id="alerts-channel-not-configured"),
    pytest.param(lambda tmp: {"alerts_file": "missing.yaml"}, ["rules_file"], "cannot be read",
                 id="alerts-file-missing"),
    pytest.param(lambda tmp: {"provider": {"chain": ["files"], "files_dir": "nowhere"}},
                 ["provider.files_dir"], "is not a directory", id="files-dir-missing"),
    pytest.param(_files_dir_is_a_file, ["provider.files_dir"], "is not a directory",
                 id="files-dir-is-a-file"),
    pytest.param(_log_under_a_file, ["logging.file.path"], "is not a directory",
                 id="log-file-under-a-regular-file"),
    pytest.param(_log_is_a_directory, ["logging.file.path"], "is not a regular file",
                 id="log-file-is-a-directory"),
    pytest.param(lambda tmp: {**_log_is_a_directory(tmp),
                              **_overrides("closures:\n  - {date: 2026-12-25, reason: x}\n")(tmp)},
                 ["closures[0].date", "logging.file.path"], "(Christmas)",
                 id="two-problems-two-lines"),
]  # fmt: skip


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    isolate(tmp_path, monkeypatch)
    # `dgas --config F` writes DGAS_CONFIG itself; a recorded setenv makes teardown undo it.
    monkeypatch.setenv("DGAS_CONFIG", "-")
    monkeypatch.delenv("DGAS_CONFIG")
    yield tmp_path


@pytest.mark.parametrize(("make", "fields", "piece"), REFUSED)
def test_what_a_run_needs_beyond_the_fields_is_checked_naming_each_field(
    workdir: Path, make: Callable[[Path], dict[str, Any]], fields: list[str], piece: str
) -> None:
    raw = make(workdir)
    with pytest.raises(InvalidInput) as raised:
        check_config(validate_config(raw))
    assert [line.split(": ")[0] for line in raised.value.lines] == fields
    assert piece in raised.value.lines[0]

    _write(workdir, "c.yaml", raw)
    code, out, err = run_dgas("config", "validate", "c.yaml", "--json")
    assert (code, out) == (2, "")
    assert "Traceback" not in err
    assert [line.split(": ")[1] for line in err.splitlines()] == fields
    assert not (workdir / "dagster_home").exists()


def test_the_earliest_partitions_start_is_the_first_whose_history_fits(
    market: MarketHoursManager,
) -> None:
    def fits(day: date) -> bool:
        try:
            check_config(validate_config({"partitions_start": day.isoformat()}))
        except InvalidInput as err:
            assert err.field == "history_sessions", err
            return False
        return True

    lo, hi = market.first_day, market.first_day + timedelta(days=120)
    assert not fits(lo) and fits(hi)
    while hi - lo > timedelta(days=1):
        mid = lo + (hi - lo) // 2
        lo, hi = (lo, mid) if fits(mid) else (mid, hi)
    # History of 10 sessions: the first partition's bars read 9 sessions before it.
    assert len(market.sessions_between(market.first_day, hi)) >= 10


# -- configs that validate run ---------------------------------------------------------------------

AT = "2026-11-20T11:05:00-05:00"  # a regular Friday session, after the 10:30 bar


def _earliest_start(history: int) -> date:
    day = MarketHoursManager().first_day
    while True:
        try:
            check_config(
                validate_config({"partitions_start": day.isoformat(), "history_sessions": history})
            )
            return day
        except InvalidInput:
            day += timedelta(days=1)


def _every_maximum(tmp: Path) -> dict[str, Any]:
    return {
        "interval": "5min",
        "enabled_timeframes": ["24h", "1h", "5min"],
        "symbols": ["AAPL", "BRK.B", "I:SPX", "BF-B"],
        "max_symbols_per_cycle": 4,
        "timeout_seconds": 86_400,
        "data_delay_minutes": 1440,
        "eod_delay_minutes": 1440,
        "catchup_sessions": 60,
        "stale_after_minutes": 10_080,
        "history_sessions": 250,
        "partitions_start": "2018-01-06",  # a Saturday
        "min_confidence": 1.0,
        "provider": {
            "synthetic_seed": 2**63 - 1,
            "request_timeout_seconds": 600,
            "max_retries": 20,
            "backoff_base_seconds": 3600,
            "backoff_max_seconds": 3600,
        },
        "notifications": {"max_attempts": 20, "backoff_base_seconds": 3600,
                          "backoff_max_seconds": 3600},
        "logging": {"file": {"max_bytes": 1024**3, "backup_count": 1000}},
    }  # fmt: skip


def _every_minimum(tmp: Path) -> dict[str, Any]:
    return {
        "enabled_timeframes": ["1h", "30min"],
        "symbols": ["spy"],
        "max_symbols_per_cycle": 1,
        "timeout_seconds": 1,
        "catchup_sessions": 0,
        "stale_after_minutes": 1,
        "history_sessions": 2,
        "partitions_start": "2025-12-25",  # Christmas
        "min_confidence": 0,
        "min_signal_strength": 0,
        "min_alignment": 0,
        "enabled_patterns": [],
        "provider": {
            "synthetic_seed": -(2**63 - 1),
            "max_retries": 0,
            "backoff_base_seconds": 0,
            "backoff_max_seconds": 0,
        },
        "notifications": {"max_attempts": 1, "backoff_base_seconds": 0, "backoff_max_seconds": 0},
        "logging": {
            "file": {"path": "logs/new/dir/dgas.log", "max_bytes": 1024, "backup_count": 1}
        },
    }  # fmt: skip


def _earliest_partitions(tmp: Path) -> dict[str, Any]:
    return {"partitions_start": _earliest_start(10).isoformat(), "symbols": ["SPY"]}


def _overrides_and_alerts(tmp: Path) -> dict[str, Any]:
    overrides = (
        "closures:\n  - {date: 2026-11-18, reason: Day of mourning}\n"
        'early_closes:\n  - {date: 2026-11-19, close: "12:00", reason: Exchange notice}\n'
    )
    return {
        "calendar": {"overrides_file": _write(tmp, "o.yaml", overrides)},
        "alerts_file": _write(tmp, "r.yaml", {"alerts": [RULE]}),
        "symbols": ["SPY", "AAPL"],
    }


# (config made in the working directory, --at)
RUNS = [
    pytest.param(_every_maximum, AT, id="every-maximum-5min-bars-from-2018"),
    pytest.param(_every_minimum, AT, id="every-minimum"),
    pytest.param(_earliest_partitions, AT, id="earliest-partitions-start-of-the-calendar"),
    pytest.param(_overrides_and_alerts, "2026-11-19T12:05:00-05:00",
                 id="overrides-and-alerts-last-bar-of-an-early-close"),
    pytest.param(lambda tmp: {"calendar": {"exchange": "XTSE"}, "symbols": ["RY", "TD"]}, AT,
                 id="toronto"),
    # The last bar of a London session closing at 16:30, the morning's last bar before
    # the lunch break in Hong Kong, the last bar of Tokyo's 15:30 close.
    pytest.param(lambda tmp: {"calendar": {"exchange": "XLON"}, "symbols": ["VOD", "BP"]},
                 "2026-12-04T16:35:00+00:00", id="london-closing-at-16-30"),
    pytest.param(lambda tmp: {"calendar": {"exchange": "XHKG"}, "symbols": ["HSBC"]},
                 "2026-12-04T12:05:00+08:00", id="hong-kong-before-the-lunch-break"),
    pytest.param(lambda tmp: {"calendar": {"exchange": "XTKS"}, "symbols": ["TM"]},
                 "2026-12-04T15:35:00+09:00", id="tokyo-last-bar"),
    pytest.param(lambda tmp: {"symbols": ["A", "ABCDEFGHIJ", "I:SPX", "BF-B", "brk.b"],
                              "max_symbols_per_cycle": 5}, AT, id="tickers-at-the-edges"),
]  # fmt: skip


@pytest.fixture
def deployment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> Iterator[Deployment]:
    with deployed(tmp_path, monkeypatch, sqlite_url, Deployment) as env:
        yield env


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("make", "at"), RUNS)
def test_a_config_that_validates_runs(
    deployment: Deployment, make: Callable[[Path], dict[str, Any]], at: str
) -> None:
    settings = make(deployment.config_path.parent)
    deployment.configure(**settings)
    code, _, err = deployment.dgas("config", "validate", str(deployment.config_path), "--json")
    assert code == 0, err

    code, summary, err = deployment.dgas("run-once", "--at", at, "--json")

    assert code == 0, err
    assert (summary["status"], summary["errors"]) == ("SUCCESS", [])
    assert summary["symbols_processed"] == len(validate_config(settings).symbols)
