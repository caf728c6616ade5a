"""Stepping a site's pipeline clock through planned launches, and timing what the daemon does.

Shared by the daemon tests and the benchmarks (bench/launch_lag.py, bench/soak.py), so the
figures they print and the assertions of CI come from one definition of "launch lag": real
seconds from the instant the clock was stepped to a launch's due time to the run's enqueue
(the sensor requested it) and to its start (a run worker picked it up).
"""

from __future__ import annotations

import shutil
import statistics
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg

from dgas_pipeline.location import load_location
from dgas_pipeline.market import plan_launches
from dgas_pipeline.market.planner import Launch
from dgas_pipeline_tests.processes import RUN_DEADLINE_S, Site


@dataclass(frozen=True)
class LaunchTiming:
    """One planned launch as the daemon served it; times are real Unix seconds."""

    launch: Launch
    run_id: str
    stepped_at: float
    enqueued_at: float
    started_at: float | None
    status: dg.DagsterRunStatus

    @property
    def enqueue_lag_s(self) -> float:
        return self.enqueued_at - self.stepped_at

    @property
    def start_lag_s(self) -> float | None:
        return None if self.started_at is None else self.started_at - self.stepped_at


def planned(site: Site, first: date, last: date) -> list[Launch]:
    """The planner's launches of these sessions under the site's own config."""
    location = load_location(str(site.config_path))
    return plan_launches(location.market, first, last, location.config.plan_settings)


def enqueued_at(site: Site, run: dg.DagsterRun) -> float:
    """When the run entered the queue (the event's float timestamp; SQLite's run row keeps
    whole seconds only)."""
    records = site.instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.RUN_ENQUEUED
    ).records
    assert len(records) == 1, f"{len(records)} RUN_ENQUEUED events for run {run.run_id}"
    return records[0].event_log_entry.timestamp


def step_to(
    site: Site, launch: Launch, wait: str = "finished", deadline_s: float = RUN_DEADLINE_S
) -> LaunchTiming | None:
    """Step the clock to `launch.due` and wait until its run is enqueued, started or finished
    (`wait`: "tick" only waits for the sensor to have seen the instant, and returns None)."""
    stepped_at = site.set_clock(launch.due)
    if wait == "tick":
        site.wait_for_tick_at(launch.due, deadline_s)
        return None
    finished = wait == "finished"
    run = site.wait_for_run(finished=finished, deadline_s=deadline_s, run_key=launch.run_key)
    if wait == "started":
        run = site.wait_for(
            lambda: _started(site, run.run_id), f"run {run.run_id} started", deadline_s
        )
    return timing(site, launch, run, stepped_at)


def timing(site: Site, launch: Launch, run: dg.DagsterRun, stepped_at: float) -> LaunchTiming:
    (record,) = site.instance.get_run_records(filters=dg.RunsFilter(run_ids=[run.run_id]))
    return LaunchTiming(
        launch=launch,
        run_id=run.run_id,
        stepped_at=stepped_at,
        enqueued_at=enqueued_at(site, run),
        started_at=record.start_time,
        status=record.dagster_run.status,
    )


def _started(site: Site, run_id: str) -> dg.DagsterRun | None:
    run = site.instance.get_run_by_id(run_id)
    if run is None or run.status in (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED):
        return None
    if run.status == dg.DagsterRunStatus.STARTING:
        return None
    return run


def summary(values: list[float]) -> dict[str, float | int]:
    """N, p50, p95 (nearest rank) and max, in seconds rounded to 0.01."""
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}
    p95 = ordered[max(0, -(-95 * len(ordered) // 100) - 1)]
    return {
        "n": len(ordered),
        "p50_s": round(statistics.median(ordered), 2),
        "p95_s": round(p95, 2),
        "max_s": round(ordered[-1], 2),
    }


def least_squares_slope(points: list[tuple[float, float]]) -> float | None:
    """Slope of y over x fitted by least squares (None with fewer than two distinct x)."""
    if len({x for x, _ in points}) < 2:
        return None
    mean_x = statistics.fmean(x for x, _ in points)
    mean_y = statistics.fmean(y for _, y in points)
    num = sum((x - mean_x) * (y - mean_y) for x, y in points)
    den = sum((x - mean_x) ** 2 for x, _ in points)
    return num / den


def before(launch: Launch, seconds: float = 60) -> datetime:
    """An instant just before a launch falls due (where a run starts its stepping)."""
    return launch.due - timedelta(seconds=seconds)


def finish(root: Path, ok: bool) -> int:
    """A benchmark's exit code; its temp site is removed after a clean run and kept (logs,
    databases) to look at otherwise."""
    if ok:
        shutil.rmtree(root, ignore_errors=True)
        return 0
    print(f"kept {root} (daemon.log, dagster_home)", file=sys.stderr)
    return 1
