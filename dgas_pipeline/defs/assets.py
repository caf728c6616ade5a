"""Cycle and EOD assets. Placeholder bodies until the prediction-cycle issue lands them."""

import dagster as dg

from dgas_pipeline.defs.location import current_location
from dgas_pipeline.defs.partitions import cycle_partitions, session_partitions

_location = current_location()
CYCLE_PARTITIONS = cycle_partitions(
    _location.market, _location.config.partitions_start, _location.config.interval_delta
)
SESSION_PARTITIONS = session_partitions(_location.market, _location.config.partitions_start)


@dg.asset(partitions_def=CYCLE_PARTITIONS, group_name="prediction_cycle")
def bars(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """The bar window this cycle covers (placeholder)."""
    window = context.partition_time_window
    return dg.MaterializeResult(
        metadata={"bar_start": window.start.isoformat(), "bar_end": window.end.isoformat()}
    )


@dg.asset(partitions_def=SESSION_PARTITIONS, group_name="end_of_day")
def eod_consolidation(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """The session consolidated after its close (placeholder)."""
    return dg.MaterializeResult(metadata={"session": context.partition_key})


prediction_cycle_job = dg.define_asset_job(
    "prediction_cycle", selection=[bars], partitions_def=CYCLE_PARTITIONS
)
eod_job = dg.define_asset_job(
    "eod_consolidation_job", selection=[eod_consolidation], partitions_def=SESSION_PARTITIONS
)
