"""The EOD job: one session's consolidation per run."""

from typing import TYPE_CHECKING

import dagster as dg

from dgas_pipeline.defs.automation.reconcile import mirror_failure
from dgas_pipeline.defs.names import EOD_JOB
from dgas_pipeline.defs.runtime.executors import pipeline_executor, pipeline_tags
from dgas_pipeline.defs.runtime.logs import LOG_RUN_CONFIG
from dgas_pipeline.location import Location

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )


def eod_job(location: Location) -> "UnresolvedAssetJobDefinition":
    return dg.define_asset_job(
        EOD_JOB,
        selection=dg.AssetSelection.assets("eod_consolidation"),
        tags=pipeline_tags("eod", location.config),
        hooks={mirror_failure},
        config=LOG_RUN_CONFIG,  # our console and rotating-file loggers (runtime/logs.py)
        executor_def=pipeline_executor(location.config.executor),
    )
