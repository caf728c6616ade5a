"""The calibration report's job: one week's report per run, in process."""

from typing import TYPE_CHECKING

import dagster as dg

from dgas_pipeline.defs.names import CALIBRATION_JOB, KIND_TAG

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )


def calibration_report_job() -> "UnresolvedAssetJobDefinition":
    return dg.define_asset_job(
        CALIBRATION_JOB,
        selection=dg.AssetSelection.assets("calibration_report"),
        tags={KIND_TAG: "report"},
        executor_def=dg.in_process_executor,
    )
