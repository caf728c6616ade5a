"""The cycle job: the cycle's assets of one bar, or of a range of bars, in one run."""

from typing import TYPE_CHECKING

import dagster as dg

from dgas_pipeline.defs.automation.reconcile import mirror_failure
from dgas_pipeline.defs.names import CYCLE_ASSETS, CYCLE_JOB
from dgas_pipeline.defs.runtime.executors import pipeline_executor, pipeline_tags
from dgas_pipeline.defs.runtime.logs import LOG_RUN_CONFIG
from dgas_pipeline.location import Location

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )


def cycle_job(location: Location) -> "UnresolvedAssetJobDefinition":
    """Partitioned like its assets; failed steps are mirrored FAILED (`mirror_failure`)."""
    return dg.define_asset_job(
        CYCLE_JOB,
        selection=dg.AssetSelection.assets(*CYCLE_ASSETS),  # keys: no selection-string parser
        tags=pipeline_tags("cycle", location.config),
        hooks={mirror_failure},
        config=LOG_RUN_CONFIG,  # our console and rotating-file loggers (runtime/logs.py)
        executor_def=pipeline_executor(location.config.executor),
    )
