"""The weekly calibration report as an asset, one partition per week holding a session.

Weeks are partitions so the UI shows which weeks have a report, and a missed or outdated one
is launched or backfilled like any asset partition; key = the week's Monday (`2026-11-23`).
The Markdown and the PNG are also written under `<instance storage>/reports/calibration/`.
"""

from datetime import date

import dagster as dg

from dgas_pipeline.cycle.reports import calibration_report_of_week
from dgas_pipeline.defs.names import REPORT_GROUP
from dgas_pipeline.defs.runtime.metadata import materialized
from dgas_pipeline.defs.runtime.resources import DatabaseResource, LocationParam, cycle_services
from dgas_pipeline.defs.runtime.runs import reports_dir


def report_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The calibration report on `partitions` (the location's weeks)."""

    @dg.asset(partitions_def=partitions, group_name=REPORT_GROUP, kinds={"pandas"})
    def calibration_report(
        context: dg.AssetExecutionContext, location: LocationParam, database: DatabaseResource
    ) -> dg.MaterializeResult:
        """Predicted confidence against realised win rate per confidence bucket, of the
        signals judged during the week's sessions."""
        monday = date.fromisoformat(context.partition_key)
        services = cycle_services(location, database)
        folder = reports_dir(context.instance)
        return materialized(calibration_report_of_week(services, monday, folder))

    return [calibration_report]
