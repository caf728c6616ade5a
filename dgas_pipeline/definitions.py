"""The one `Definitions` object of the code location."""

from __future__ import annotations

import dagster as dg

from dgas_pipeline.defs.assets import bars, eod_consolidation, eod_job, prediction_cycle_job

defs = dg.Definitions(
    assets=[bars, eod_consolidation],
    jobs=[prediction_cycle_job, eod_job],
)
