"""Mirror what a run could not write itself: failures, cancellations, killed processes.

The failure hook covers a step that raised; a run killed with SIGKILL or cancelled from the
UI never reaches its hook, so a run-status sensor (with the daemon) and `dgas status`
(without one) reconcile from Dagster's run records. All three write through `fail_run`.
"""

import dagster as dg

from dgas_pipeline.defs import mirror
from dgas_pipeline.defs.assets import CYCLE_PARTITIONS
from dgas_pipeline.defs.eod import SESSION_PARTITIONS
from dgas_pipeline.defs.resources import PipelineResource
from dgas_pipeline.market.bars import bar_for_key
from dgas_pipeline.store import repositories as repo

CYCLE_JOB = "prediction_cycle"
EOD_JOB = "eod_job"
WATCHLIST_JOB = "watchlist_job"
KIND_TAG = "dgas/kind"
WATCHLIST_KEY_TAG = "dgas/watchlist_key"
MIRRORED_JOBS = (CYCLE_JOB, EOD_JOB, WATCHLIST_JOB)


def fail_run(
    pipeline: PipelineResource, instance: dg.DagsterInstance, run_id: str, message: str
) -> None:
    """Write FAILED rows for every partition of the run and put scheduler_state in ERROR."""
    run = instance.get_run_by_id(run_id)
    tags = dict(run.tags) if run else {}
    kind = tags.get(KIND_TAG, "cycle")
    market, settings = pipeline.market(), pipeline.settings()
    parts = []
    for key in run_partition_keys(tags, kind):
        if kind == "cycle":
            bar = bar_for_key(market, key, settings.interval_delta)
            parts.append(mirror.RunPartition(key, bar.start, bar.end))
        else:
            parts.append(mirror.RunPartition(key))
    identity = mirror.identity_from_instance(instance, run_id, kind, settings.interval, parts)
    mirror.finish(pipeline.engine(), identity, market, settings.plan_settings, failed=message[:500])


def run_partition_keys(tags: dict[str, str], kind: str) -> list[str]:
    """The partitions a run covers, from Dagster's own tags (one key, or a range)."""
    if kind == "watchlist":
        return [tags[WATCHLIST_KEY_TAG]] if WATCHLIST_KEY_TAG in tags else []
    if "dagster/partition" in tags:
        return [tags["dagster/partition"]]
    start = tags.get("dagster/asset_partition_range_start")
    end = tags.get("dagster/asset_partition_range_end")
    if start and end:
        partitions = CYCLE_PARTITIONS if kind == "cycle" else SESSION_PARTITIONS
        return list(partitions.get_partition_keys_in_range(dg.PartitionKeyRange(start, end)))
    return []


def reconcile_finished_runs(
    pipeline: PipelineResource, instance: dg.DagsterInstance, limit: int = 200
) -> int:
    """Mirror as FAILED every recent failed or cancelled run whose rows still say otherwise."""
    records = instance.get_run_records(
        filters=dg.RunsFilter(
            job_name=None,
            statuses=[dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED],
        ),
        limit=limit,
    )
    fixed = 0
    with pipeline.engine().connect() as conn:
        stale = []
        for record in records:
            run = record.dagster_run
            if run.job_name not in MIRRORED_JOBS:
                continue
            keys = run_partition_keys(dict(run.tags), run.tags.get(KIND_TAG, "cycle"))
            rows = [repo.get_run(conn, run.run_id, key) for key in keys]
            if any(row is None or row["status"] != "FAILED" for row in rows):
                stale.append(run)
    for run in stale:
        fail_run(pipeline, instance, run.run_id, f"run {run.status.value.lower()} (reconciled)")
        fixed += 1
    return fixed


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.FAILURE,
    name="run_mirror_failures",
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
def run_mirror_failures(context: dg.RunStatusSensorContext, pipeline: PipelineResource) -> None:
    """A run that failed without its hook (killed, crashed worker) still ends up FAILED."""
    _reconcile_one(context, pipeline)


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.CANCELED,
    name="run_mirror_cancellations",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
def run_mirror_cancellations(
    context: dg.RunStatusSensorContext, pipeline: PipelineResource
) -> None:
    _reconcile_one(context, pipeline)


def _reconcile_one(context: dg.RunStatusSensorContext, pipeline: PipelineResource) -> None:
    run = context.dagster_run
    if run.job_name not in MIRRORED_JOBS:
        return
    message = context.dagster_event.message or f"run {run.status.value.lower()}"
    fail_run(pipeline, context.instance, run.run_id, message.splitlines()[0])
