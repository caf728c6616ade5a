"""The cycle and EOD jobs, and the hook that mirrors a failed step as a FAILED run row."""

import dagster as dg

from dgas_pipeline.defs import mirror
from dgas_pipeline.defs.assets import CYCLE_PARTITIONS, bars, indicators, notifications, signals
from dgas_pipeline.defs.eod import SESSION_PARTITIONS, eod_consolidation
from dgas_pipeline.defs.resources import PipelineResource
from dgas_pipeline.market.bars import bar_for_key

CYCLE_JOB = "prediction_cycle"
EOD_JOB = "eod_job"
KIND_TAG = "dgas/kind"


@dg.failure_hook(required_resource_keys={"pipeline"})
def mirror_failure(context: dg.HookContext) -> None:
    """A step failed for good: its run's rows become FAILED and scheduler_state ERROR.

    The message is the exception's type and first line: enough to act on, and it never
    carries a secret (providers and channels redact theirs before raising).
    """
    pipeline: PipelineResource = context.resources.pipeline
    run = context.instance.get_run_by_id(context.run_id)
    tags = run.tags if run else {}
    kind = tags.get(KIND_TAG, "cycle")
    keys = run_partition_keys(tags, kind)
    market, settings = pipeline.market(), pipeline.settings()
    parts = []
    for key in keys:
        if kind == "cycle":
            bar = bar_for_key(market, key, settings.interval_delta)
            parts.append(mirror.RunPartition(key, bar.start, bar.end))
        else:
            parts.append(mirror.RunPartition(key))
    error = context.op_exception
    first_line = str(error).splitlines()[0] if error and str(error) else ""
    message = f"{context.op.name}: {type(error).__name__}: {first_line}"[:500]
    identity = mirror.identity_of(context, kind, settings.interval, parts)
    mirror.finish(pipeline.engine(), identity, market, settings.plan_settings, failed=message)


def run_partition_keys(tags: dict[str, str], kind: str) -> list[str]:
    """The partitions a run covers, from Dagster's own tags (one key, or a range)."""
    if "dagster/partition" in tags:
        return [tags["dagster/partition"]]
    start = tags.get("dagster/asset_partition_range_start")
    end = tags.get("dagster/asset_partition_range_end")
    if start and end:
        partitions = CYCLE_PARTITIONS if kind == "cycle" else SESSION_PARTITIONS
        return list(partitions.get_partition_keys_in_range(dg.PartitionKeyRange(start, end)))
    return []


prediction_cycle_job = dg.define_asset_job(
    CYCLE_JOB,
    selection=[bars, indicators, signals, notifications],
    partitions_def=CYCLE_PARTITIONS,
    tags={KIND_TAG: "cycle"},
    hooks={mirror_failure},
)
eod_job = dg.define_asset_job(
    EOD_JOB,
    selection=[eod_consolidation],
    partitions_def=SESSION_PARTITIONS,
    tags={KIND_TAG: "eod"},
    hooks={mirror_failure},
)
