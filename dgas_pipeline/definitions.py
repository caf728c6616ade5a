"""The one `Definitions` object of the code location."""

import dagster as dg

from dgas_pipeline.defs.assets import bars, indicators, notifications, signals
from dgas_pipeline.defs.checks import bars_valid_and_complete, signals_sane
from dgas_pipeline.defs.eod import eod_consolidation
from dgas_pipeline.defs.jobs import eod_job, prediction_cycle_job
from dgas_pipeline.defs.location import current_location
from dgas_pipeline.defs.resources import build_resources

defs = dg.Definitions(
    assets=[bars, indicators, signals, notifications, eod_consolidation],
    asset_checks=[bars_valid_and_complete, signals_sane],
    jobs=[prediction_cycle_job, eod_job],
    resources=build_resources(current_location().config),
)
