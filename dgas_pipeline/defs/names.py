"""Names other parts rely on: jobs, asset groups, sensors, tags and the schedules' run keys.

Users' backfills, scripts, the UI's history and the run queue's limits refer to these
strings; renaming one orphans what was recorded under the old name, so each is written once,
here. The run keys of planned launches (`cycle:<key>`, `eod:<date>`,
`cycle-range:<first>..<last>`) are the planner's (`market.planner.launch_run_key`), and a
watchlist run's (`watchlist:<name>:<date>`) the watchlist schedule's: they identify launches
in the core, without Dagster.
"""

from __future__ import annotations

from datetime import date

# -- jobs ------------------------------------------------------------------------------------
CYCLE_JOB = "prediction_cycle"
EOD_JOB = "eod_job"
WATCHLIST_JOB = "watchlist_job"
METRICS_JOB = "metrics_rollup_job"
CALIBRATION_JOB = "calibration_report_job"
KIND_OF_JOB = {CYCLE_JOB: "cycle", EOD_JOB: "eod", WATCHLIST_JOB: "watchlist"}
"""The jobs whose runs land in `prediction_runs` and `scheduler_state`, and their row kind
(Dagster's implicit asset job too, by its assets: `runtime.runs.mirrored_kind`)."""
JOB_OF_KIND = {"cycle": CYCLE_JOB, "eod": EOD_JOB}
"""The job of each kind of planned launch."""

# -- assets, groups, sensors -----------------------------------------------------------------
CYCLE_GROUP = "prediction_cycle"
EOD_GROUP = "end_of_day"
REPORT_GROUP = "reports"
CYCLE_ASSETS = ("bars", "indicators", "signals", "notifications", "alerts")
EOD_ASSET = "eod_consolidation"
METRICS_ASSET = "prediction_metrics"
"""Observed (not materialised) by each metric roll-up."""
MARKET_CLOCK_SENSOR = "market_clock_sensor"
WATCHLIST_SENSOR = "watchlist_sensor"
WORKER_WATCH_SENSOR = "run_worker_watch"
MIRROR_FAILURES_SENSOR = "run_mirror_failures"
MIRROR_CANCELLATIONS_SENSOR = "run_mirror_cancellations"
LATENESS_SENSOR = "lateness_sensor"
ON_TIME_CHECK = "on_time"
"""The check, on each kind's asset below, that a launch materialised by due + grace."""
ON_TIME_ASSET_OF_KIND = {"cycle": "signals", "eod": EOD_ASSET}

# -- our run tags ----------------------------------------------------------------------------
KIND_TAG = "dgas/kind"
LAUNCHED_BY_TAG = "dgas/launched_by"
STALE_TAG = "dgas/stale"
WATCHLIST_KEY_TAG = "dgas/watchlist_key"
WORKER_TAG = "dgas/worker"
BACKFILL_TAG = "dgas/backfill"
CONCURRENCY_TAG = "dgas/concurrency"
CONCURRENCY_GROUP = "pipeline"
"""Only one run of this group at a time: dagster.yaml limits the tag's value to one."""

# -- Dagster's run tags we set or read -------------------------------------------------------
MAX_RUNTIME_TAG = "dagster/max_runtime"
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PARENT_RUN_TAG = "dagster/parent_run_id"
RETRY_NUMBER_TAG = "dagster/retry_number"
BACKFILL_ID_TAG = "dagster/backfill"
SENSOR_NAME_TAG = "dagster/sensor_name"
SCHEDULE_NAME_TAG = "dagster/schedule_name"


# -- run keys of the schedules ---------------------------------------------------------------
def metrics_run_key(period: str, key: str) -> str:
    """`metrics:<period>:<key>`: one roll-up per period (`hourly`, `2026-11-27-10`)."""
    return f"metrics:{period}:{key}"


def calibration_run_key(monday: date) -> str:
    """`calibration:<Monday>`: the weekly calibration report of a week."""
    return f"calibration:{monday.isoformat()}"


# Sessions of bars one range run covers, whoever launches it (`dgas backfill --wait` and the
# Dagster backfills of `dgas backfill` and the UI). A run has fixed costs (its creation,
# resources, step events, a chart) that more sessions share; its frames hold every session's
# bars, so memory grows with it. Chosen with bench/backfill.py --sessions-per-run
# (docs/performance-backfill.md): 10 sessions of 100 symbols peak under 1 GiB.
SESSIONS_PER_RANGE_RUN = 10
