"""Metric roll-up and report schedules at fixed instants: what each covers, when it skips.

Periods are written out by hand: in November (EST) 09:30 ET is 14:30Z and 16:00 ET 21:00Z;
2026-11-26 is Thanksgiving, 2026-11-27 closes at 13:00 ET (18:00Z).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import time_machine
import yaml

from dgas_pipeline.config import SchedulerConfig, validate_config
from dgas_pipeline.defs import build_definitions
from dgas_pipeline.defs.automation.schedules import build_schedules
from dgas_pipeline.defs.reports.jobs import calibration_report_job
from dgas_pipeline.location import Location
from dgas_pipeline.store import tables
from dgas_pipeline_tests.automation.conftest import QUIET, Deployment, et

Schedules = dict[str, dg.ScheduleDefinition]


def schedules_of(location: Location) -> Schedules:
    return {s.name: s for s in build_schedules(location, calibration_report_job())}


@pytest.fixture(scope="module")
def default_schedules() -> Schedules:
    """The schedules of the built-in defaults (schedules read no instance)."""
    return schedules_of(Location.from_config(SchedulerConfig()))


@pytest.fixture
def blackout_schedules(tmp_path: Path) -> Schedules:
    """The defaults plus an overrides file closing every session of 2026-12-07..11."""
    overrides = tmp_path / "overrides.yaml"
    overrides.write_text(
        yaml.safe_dump({"closures": [{"date": day, "reason": "Blackout"} for day in BLACKOUT]}),
        encoding="utf-8",
    )
    config = validate_config({"calendar": {"overrides_file": str(overrides)}})
    return schedules_of(Location.from_config(config))


def evaluate(schedule: dg.ScheduleDefinition, at: datetime) -> Any:
    context = dg.build_schedule_context(scheduled_execution_time=at)
    return schedule.evaluate_tick(context)


def period_of(request: dg.RunRequest) -> tuple[str, str, str, str]:
    config = request.run_config["ops"]["roll_up_metrics"]["config"]
    return request.run_key or "", config["period"], config["start"], config["end"]


def utc(text: str) -> str:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()


# (schedule, fires at ET, run key, period start, period end) — all requests.
REQUESTS = [
    pytest.param(
        "hourly_metrics", "2026-11-20 10:05", "metrics:hourly:2026-11-20-09",
        "2026-11-20T14:00Z", "2026-11-20T15:00Z", id="hourly-first-hour-holds-the-open",
    ),
    pytest.param(
        "hourly_metrics", "2026-11-20 16:05", "metrics:hourly:2026-11-20-15",
        "2026-11-20T20:00Z", "2026-11-20T21:00Z", id="hourly-last-hour-to-the-close",
    ),
    pytest.param(
        "hourly_metrics", "2026-11-27 13:05", "metrics:hourly:2026-11-27-12",
        "2026-11-27T17:00Z", "2026-11-27T18:00Z", id="hourly-early-close-last-hour",
    ),
    pytest.param(
        "weekly_metrics", "2026-11-27 19:00", "metrics:weekly:2026-11-23",
        "2026-11-23T14:30Z", "2026-11-27T18:00Z", id="weekly-thanksgiving-week",
    ),
    pytest.param(
        "weekly_metrics", "2026-04-03 19:00", "metrics:weekly:2026-03-30",
        "2026-03-30T13:30Z", "2026-04-02T20:00Z", id="weekly-good-friday-ends-thursday",
    ),
    pytest.param(
        "monthly_metrics", "2026-12-01 06:00", "metrics:monthly:2026-11",
        "2026-11-02T14:30Z", "2026-11-30T21:00Z", id="monthly-november",
    ),
    pytest.param(
        "monthly_metrics", "2026-11-01 06:00", "metrics:monthly:2026-10",
        "2026-10-01T13:30Z", "2026-10-30T20:00Z", id="monthly-october-edt-sunday-first",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("schedule", "at", "run_key", "start", "end"), REQUESTS)
def test_schedule_requests_the_period_it_covers(
    default_schedules: Schedules,
    schedule: str,
    at: str,
    run_key: str,
    start: str,
    end: str,
) -> None:
    result = evaluate(default_schedules[schedule], et(at))
    assert result.skip_message is None
    (request,) = result.run_requests
    kind = run_key.split(":")[1]
    assert period_of(request) == (run_key, kind, utc(start), utc(end))
    assert request.tags["dgas/launched_by"] == "schedule"


# (schedule, fires at ET, skip reason)
SKIPS = [
    ("hourly_metrics", "2026-11-26 10:05", "market closed: Thanksgiving"),
    ("hourly_metrics", "2026-11-28 10:05", "market closed: weekend"),
    ("hourly_metrics", "2026-11-27 14:05", "13:00-14:00 ET is outside the session"),
    ("hourly_metrics", "2026-11-27 16:05", "15:00-16:00 ET is outside the session"),
    ("weekly_metrics", "2026-12-11 19:00", "no session in the week of 2026-12-07"),
    ("weekly_calibration_report", "2026-12-11 19:00", "no session in the week of 2026-12-07"),
]
BLACKOUT = [f"2026-12-{day:02d}" for day in range(7, 12)]  # a whole week closed by overrides


@pytest.mark.parametrize(
    ("schedule", "at", "reason"), SKIPS, ids=[f"{s}-{at}" for s, at, _ in SKIPS]
)
def test_schedule_skips_non_sessions_with_the_reason(
    blackout_schedules: Schedules, schedule: str, at: str, reason: str
) -> None:
    result = evaluate(blackout_schedules[schedule], et(at))
    assert not result.run_requests
    assert result.skip_message == reason


# (fires at ET, the week's partition) — the report of the week the tick falls in.
REPORTS = [
    pytest.param("2026-11-27 19:00", "2026-11-23", id="thanksgiving-week"),
    pytest.param("2026-04-03 19:00", "2026-03-30", id="good-friday-week-still-reported-friday"),
]


@pytest.mark.parametrize(("at", "week"), REPORTS)
def test_weekly_calibration_report_requests_the_weeks_partition(at: str, week: str) -> None:
    # A partitioned job's request is checked against the code location's partitions.
    defs = build_definitions(Location.from_config(SchedulerConfig()))
    weekly_calibration_report = defs.resolve_schedule_def("weekly_calibration_report")
    context = dg.build_schedule_context(
        scheduled_execution_time=et(at), repository_def=defs.get_repository_def()
    )
    with time_machine.travel(et(at)):
        result = weekly_calibration_report.evaluate_tick(context)
    (request,) = result.run_requests
    assert (request.run_key, request.partition_key) == (f"calibration:{week}", week)
    assert request.tags["dgas/launched_by"] == "schedule"
    assert weekly_calibration_report.job_name == "calibration_report_job"


def test_daily_metrics_belong_to_the_eod_run_alone(default_schedules: Schedules) -> None:
    """EOD writes each session's daily rows (defs/test_eod.py); no schedule redoes them."""
    assert set(default_schedules) == {
        "hourly_metrics",
        "weekly_metrics",
        "weekly_calibration_report",
        "monthly_metrics",
    }


def test_rollup_job_writes_the_hour_metrics_once_however_often_it_runs(
    deployment_on_each_db: Deployment,
) -> None:
    env = deployment_on_each_db
    for at in ("2026-11-20T10:35-05:00", "2026-11-20T11:05-05:00"):  # bars 10:00 and 10:30
        assert env.dgas("run-once", "--at", at, "--json")[0] == 0
    hourly_metrics = env.defs.resolve_schedule_def("hourly_metrics")
    (request,) = evaluate(hourly_metrics, et("2026-11-20 11:05")).run_requests
    job = env.defs.resolve_job_def("metrics_rollup_job")

    def roll_up() -> list[dict[str, Any]]:
        result = job.execute_in_process(
            run_config={**request.run_config, **QUIET}, instance=env.instance, tags=request.tags
        )
        assert result.success
        return env.rows(tables.prediction_metrics)

    first = roll_up()
    by_type = {row["metric_type"]: row for row in first}
    assert {"execution_time_ms_p50", "error_rate", "signals_per_cycle"} <= by_type.keys()
    assert {row["aggregation_period"] for row in first} == {"hourly"}
    assert {row["period_start"] for row in first} == {
        datetime.fromisoformat(utc("2026-11-20T15:00Z"))
    }
    assert by_type["execution_time_ms_p50"]["metadata"] == {"runs": 2}
    assert by_type["error_rate"]["metric_value"] == 0.0

    again = roll_up()
    assert [(r["id"], r["metric_type"], r["metric_value"]) for r in again] == [
        (r["id"], r["metric_type"], r["metric_value"]) for r in first
    ]
