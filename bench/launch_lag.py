"""Launch lag with the real daemon: `python bench/launch_lag.py [options]` prints one JSON line.

The goal: a planned launch runs within 10 s (p95) of its due time. A real
`dagster-daemon` serves a temp site (the repo's dagster.yaml, synthetic data) whose pipeline
clock is a file; for each launch the planner gives for the chosen sessions, the clock is
stepped to its due instant at real time T0, and the run's enqueue (the sensor requested it)
and start (a run worker took it) are timed from T0 in real seconds. The next step waits for
the run to finish, so one launch's lag never includes queueing behind another.

Options: `--first/--last` sessions (default 2026-11-24, 13 bars + EOD), `--launches N` (the
first N of them), `--sensor-interval S` (default: the production default of
defs/sensors.py, i.e. DGAS_SENSOR_INTERVAL_SECONDS unset), `--dequeue-interval S` (default:
as the repo's dagster.yaml says). Output: enqueue_lag and start_lag {n, p50_s, p95_s, max_s},
and `stages`: where start_lag goes, from the run's own events: the sensor's tick (due ->
RUN_ENQUEUED), the queued-run coordinator (-> RUN_STARTING), the run worker's process start
(-> WORKER_UP: a fresh interpreter importing Dagster and opening the instance) and its load of
the code location and of the run's plan (-> RUN_START). Our package's bytecode is compiled
first, as an installed wheel has it (with PYTHONDONTWRITEBYTECODE=1 each run worker would
otherwise compile our modules again).
"""

from __future__ import annotations

import argparse
import compileall
import json
import sys
import tempfile
import time
import warnings
from datetime import UTC, date, datetime
from itertools import pairwise
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dgas_pipeline.defs.automation.sensors import DEFAULT_SENSOR_INTERVAL_SECONDS  # noqa: E402
from dgas_pipeline_tests.daemon.launches import (  # noqa: E402
    LaunchTiming,
    before,
    finish,
    planned,
    step_to,
    summary,
)
from dgas_pipeline_tests.processes import EMBEDDED_INSTANCE, Site, open_site  # noqa: E402

STAGES = ("RUN_ENQUEUED", "RUN_DEQUEUED", "RUN_STARTING", "WORKER_UP", "RUN_START")
WORKER_UP = "Started process for run"
"""The run worker's first event: the process is up (Dagster imported, the instance opened);
what follows until RUN_START is loading the code location and planning the run."""


def stage_times(site: Site, timing: LaunchTiming) -> dict[str, float]:
    """Seconds between the events of the run's way from due to STARTED."""
    import dagster as dg

    at = {"due": timing.stepped_at}
    for name in STAGES:
        kind = "ENGINE_EVENT" if name == "WORKER_UP" else name
        records = site.instance.get_records_for_run(
            timing.run_id, of_type=dg.DagsterEventType[kind]
        ).records
        entries = [r.event_log_entry for r in records]
        if name == "WORKER_UP":
            entries = [e for e in entries if (e.message or "").startswith(WORKER_UP)]
        if entries:
            at[name] = entries[0].timestamp
    names = ["due", *(n for n in STAGES if n in at)]
    return {f"{a}->{b}": at[b] - at[a] for a, b in pairwise(names)}


def instance_yaml(root: Path, dequeue_interval_s: int | None) -> tuple[Path, int]:
    """The repo's dagster.yaml, with the coordinator's dequeue interval overridden if asked;
    the interval in force (Dagster's default is 5 s)."""
    settings = yaml.safe_load(EMBEDDED_INSTANCE.read_text(encoding="utf-8"))
    coordinator = settings["run_coordinator"].setdefault("config", {})
    if dequeue_interval_s is not None:
        coordinator["dequeue_interval_seconds"] = dequeue_interval_s
    path = root / "instance.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path, int(coordinator.get("dequeue_interval_seconds", 5))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=date.fromisoformat, default=date(2026, 11, 24))
    parser.add_argument("--last", type=date.fromisoformat, default=None)
    parser.add_argument("--launches", type=int, default=None)
    parser.add_argument("--sensor-interval", type=int, default=None)
    parser.add_argument("--dequeue-interval", type=int, default=None)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    compileall.compile_dir(REPO / "dgas_pipeline", quiet=1)
    root = Path(tempfile.mkdtemp(prefix="dgas-launch-lag-"))
    yaml_path, dequeue_s = instance_yaml(root, args.dequeue_interval)
    began = time.monotonic()
    timings = []
    stages: dict[str, list[float]] = {}
    with open_site(
        root / "site",
        datetime(args.first.year, args.first.month, args.first.day, tzinfo=UTC),
        instance_yaml=yaml_path,
        sensor_interval_s=args.sensor_interval,
    ) as site:
        launches = planned(site, args.first, args.last or args.first)[: args.launches]
        site.set_clock(before(launches[0]))
        site.start_daemon()
        site.wait_for_tick_at(before(launches[0]))
        for launch in launches:
            result = step_to(site, launch, wait="finished")
            assert result is not None
            timings.append(result)
            for stage, seconds in stage_times(site, result).items():
                stages.setdefault(stage, []).append(seconds)
        failed = [t.launch.run_key for t in timings if t.status.value != "SUCCESS"]
    starts = [t.start_lag_s for t in timings if t.start_lag_s is not None]
    print(
        json.dumps(
            {
                "sessions": [args.first.isoformat(), (args.last or args.first).isoformat()],
                "sensor_interval_s": args.sensor_interval or DEFAULT_SENSOR_INTERVAL_SECONDS,
                "dequeue_interval_s": dequeue_s,
                "enqueue_lag": summary([t.enqueue_lag_s for t in timings]),
                "start_lag": summary(starts),
                "stages": {stage: summary(values) for stage, values in stages.items()},
                "failed_runs": failed,
                "wall_s": round(time.monotonic() - began, 1),
            }
        )
    )
    return finish(root, ok=not failed)


if __name__ == "__main__":
    sys.exit(main())
