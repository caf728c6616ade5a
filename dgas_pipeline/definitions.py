"""The one `Definitions` object of the code location."""

import dagster as dg

from dgas_pipeline.defs.alerts import alerts
from dgas_pipeline.defs.assets import bars, indicators, notifications, signals
from dgas_pipeline.defs.checks import bars_valid_and_complete, signals_sane
from dgas_pipeline.defs.eod import eod_consolidation
from dgas_pipeline.defs.jobs import eod_job, prediction_cycle_job
from dgas_pipeline.defs.location import current_location
from dgas_pipeline.defs.logs import LOGGERS
from dgas_pipeline.defs.reconcile import (
    run_mirror_cancellations,
    run_mirror_failures,
    run_worker_watch,
)
from dgas_pipeline.defs.reports import calibration_report, calibration_report_job
from dgas_pipeline.defs.resources import build_resources
from dgas_pipeline.defs.schedules import SCHEDULES, metrics_rollup_job
from dgas_pipeline.defs.sensors import market_clock_sensor
from dgas_pipeline.defs.watchlists import watchlist_job, watchlist_sensor

defs = dg.Definitions(
    assets=[
        bars,
        indicators,
        signals,
        notifications,
        alerts,
        eod_consolidation,
        calibration_report,
    ],
    asset_checks=[bars_valid_and_complete, signals_sane],
    jobs=[prediction_cycle_job, eod_job, metrics_rollup_job, calibration_report_job, watchlist_job],
    schedules=SCHEDULES,
    sensors=[
        market_clock_sensor,
        watchlist_sensor,
        run_mirror_failures,
        run_mirror_cancellations,
        run_worker_watch,
    ],
    resources=build_resources(current_location().config),
    loggers=LOGGERS,
)
