"""Dagster only: assets, checks, jobs, sensors, schedules, resources, loggers, executors.

`build_definitions(location)` is the one entry: every Dagster object built from the config
(partitions, executor, run timeouts, the sensor interval) is made here, from the location it
is given, never when a module is imported. Bodies call `cycle/` and show its metadata.

- `cycle/`: the cycle's assets, checks and job;
- `eod/`: the EOD asset and job;
- `reports/`: the weekly calibration report and its job;
- `automation/`: the market clock sensor, the watchlist sensor and job, the schedules, the
  run mirror's reconciliation (failure hook, run-status sensors, dead-worker watch), the
  lateness sensor and its `on_time` checks;
- `runtime/`: resources, the IO manager, loggers, executors, run identities;
- `partitions.py`: partitions whose keys are the planner's; `names.py`: names others use.
"""

from datetime import date, datetime

import dagster as dg

from dgas_pipeline.defs.automation.lateness import lateness_sensor, on_time_checks
from dgas_pipeline.defs.automation.reconcile import (
    run_mirror_cancellations,
    run_mirror_failures,
    run_worker_watch,
)
from dgas_pipeline.defs.automation.schedules import build_schedules, metrics_rollup_job
from dgas_pipeline.defs.automation.sensors import market_clock_sensor
from dgas_pipeline.defs.automation.watchlists import watchlist_job, watchlist_sensor
from dgas_pipeline.defs.cycle.assets import cycle_assets
from dgas_pipeline.defs.cycle.checks import cycle_checks
from dgas_pipeline.defs.cycle.jobs import cycle_job
from dgas_pipeline.defs.eod.assets import eod_assets
from dgas_pipeline.defs.eod.jobs import eod_job
from dgas_pipeline.defs.partitions import cycle_partitions, session_partitions, week_partitions
from dgas_pipeline.defs.reports.assets import report_assets
from dgas_pipeline.defs.reports.jobs import calibration_report_job
from dgas_pipeline.defs.runtime.executors import pipeline_executor
from dgas_pipeline.defs.runtime.logs import build_loggers
from dgas_pipeline.defs.runtime.resources import build_resources
from dgas_pipeline.location import Location


def build_definitions(location: Location) -> dg.Definitions:
    """The code location of `location`: its config and exchange clock decide everything."""
    config, market = location.config, location.market
    cycles = cycle_partitions(market, config.partitions_start, config.interval_delta)
    opens, closes = market.regular_hours()
    session = datetime.combine(date.min, closes) - datetime.combine(date.min, opens)
    bars_per_session = session // config.interval_delta
    sessions = session_partitions(market, config.partitions_start)
    weeks = week_partitions(market, config.partitions_start)
    cycle, eod, calibration = cycle_job(location), eod_job(location), calibration_report_job()
    return dg.Definitions(
        assets=[
            *cycle_assets(cycles, bars_per_session),
            *eod_assets(sessions),
            *report_assets(weeks),
        ],
        asset_checks=[*cycle_checks(cycles), *on_time_checks(cycles, sessions)],
        jobs=[cycle, eod, metrics_rollup_job, calibration, watchlist_job],
        schedules=build_schedules(location, calibration),
        sensors=[
            market_clock_sensor(location, [cycle, eod]),
            watchlist_sensor(location),
            lateness_sensor(location),
            run_mirror_failures,
            run_mirror_cancellations,
            run_worker_watch,
        ],
        resources=build_resources(location),
        loggers=build_loggers(location),
        # Dagster's implicit asset job (a backfill launched on the assets in the UI) runs with
        # this executor; without it, Dagster's default would start a process per step.
        executor=pipeline_executor(config.executor),
    )
