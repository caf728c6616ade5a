"""EOD consolidation as an asset, one partition per session (`2026-11-27`).

The work (verdicts, daily metrics, the summary and its sending) is `cycle/eod.py`.
"""

from datetime import date

import dagster as dg

from dgas_pipeline.cycle.eod import consolidate_session
from dgas_pipeline.cycle.mirror import RunPartition
from dgas_pipeline.defs.automation.reconcile import mirror_failure
from dgas_pipeline.defs.names import EOD_GROUP
from dgas_pipeline.defs.runtime.metadata import materialized
from dgas_pipeline.defs.runtime.resources import (
    DatabaseResource,
    LocationParam,
    ProvidersResource,
    cycle_services,
)
from dgas_pipeline.defs.runtime.runs import reports_dir, run_identity


def eod_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The EOD asset on `partitions` (the location's sessions)."""

    # The hook on the asset too: see `cycle_assets`.
    @dg.asset(
        partitions_def=partitions,
        group_name=EOD_GROUP,
        kinds={"pandas"},
        hooks={mirror_failure},
    )
    def eod_consolidation(
        context: dg.AssetExecutionContext,
        location: LocationParam,
        database: DatabaseResource,
        providers: ProvidersResource,
    ) -> dg.MaterializeResult:
        """Outcomes of PENDING signals up to this close, daily metrics, and the EOD summary
        (sent once, Markdown in the metadata and under `<instance storage>/reports/eod/`)."""
        key = context.partition_key
        run = run_identity(context, location, "eod", [RunPartition(key)])
        services = cycle_services(location, database, providers)
        day = date.fromisoformat(key)
        return materialized(consolidate_session(services, run, day, reports_dir(context.instance)))

    return [eod_consolidation]
