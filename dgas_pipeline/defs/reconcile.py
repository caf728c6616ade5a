"""Mirror what a run could not write itself: failures, cancellations, killed processes.

The failure hook covers a step that raised; a run killed with SIGKILL or cancelled from the
UI never reaches its hook, so a run-status sensor (with the daemon) and `dgas status`
(without one) reconcile from Dagster's run records. All of them write through `fail_run`.

A killed worker leaves its run STARTED in Dagster (the default run launcher cannot check a
worker's health, and a `dgas run-once` run has no launcher), so `run_worker_watch` (with the
daemon) and `dgas status` first report failed the runs whose worker died
(`workers.find_dead_workers`), then mirror them like any failed run.
"""

import json
from collections.abc import Iterable
from datetime import UTC, datetime

import dagster as dg

from dgas_pipeline.defs import mirror, workers
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
# How often the daemon looks for dead workers: a few /proc reads per running run, cheap.
WORKER_WATCH_INTERVAL_SECONDS = 5


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
    record = instance.get_run_record_by_id(run_id)
    # Set once Dagster has finished the run: this is then a mirror written after the fact.
    ended_at = datetime.fromtimestamp(record.end_time, UTC) if record and record.end_time else None
    mirror.finish(
        pipeline.engine(),
        identity,
        market,
        settings.plan_settings,
        failed=message[:500],
        ended_at=ended_at,
    )


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


def reconcile_dead_workers(
    pipeline: PipelineResource,
    instance: dg.DagsterInstance,
    dead: Iterable[workers.DeadWorker] | None = None,
) -> int:
    """Fail in Dagster, and mirror FAILED, the runs of ours whose worker on this host died
    (`dead`, or all found now); how many."""
    failed = 0
    for run in workers.find_dead_workers(instance, MIRRORED_JOBS) if dead is None else dead:
        if workers.report_failed(instance, run):
            fail_run(pipeline, instance, run.run_id, run.message)
            failed += 1
    return failed


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
    stale = [
        record.dagster_run
        for record in records
        if record.dagster_run.job_name in MIRRORED_JOBS
        and not mirrored_failed(pipeline, record.dagster_run)
    ]
    for run in stale:
        fail_run(pipeline, instance, run.run_id, f"run {run.status.value.lower()} (reconciled)")
    return len(stale)


def mirrored_failed(pipeline: PipelineResource, run: dg.DagsterRun) -> bool:
    """Do all of the run's rows say FAILED already (nothing left to reconcile)?"""
    keys = run_partition_keys(dict(run.tags), run.tags.get(KIND_TAG, "cycle"))
    with pipeline.engine().connect() as conn:
        rows = [repo.get_run(conn, run.run_id, key) for key in keys]
    return all(row is not None and row["status"] == "FAILED" for row in rows)


@dg.sensor(
    name="run_worker_watch",
    minimum_interval_seconds=WORKER_WATCH_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Fails and mirrors FAILED the runs whose worker process died on this host.",
)
def run_worker_watch(context: dg.SensorEvaluationContext, pipeline: PipelineResource) -> None:
    """Without it a SIGKILLed run stays STARTED until `dagster/max_runtime`; once failed,
    run retries (dagster.yaml `run_retries`) rerun it like any failed run.

    A run is failed when its worker was found dead on two ticks in a row (the cursor holds
    the runs found on the last one). A code server that launched the run and still lives
    fails it itself within a second of its worker's death; reporting at first sight would
    race it and give the run two failure events.
    """
    found = workers.find_dead_workers(context.instance, MIRRORED_JOBS)
    seen = set(json.loads(context.cursor)) if context.cursor else set()
    confirmed = [run for run in found if run.run_id in seen]
    failed = reconcile_dead_workers(pipeline, context.instance, confirmed)
    context.update_cursor(json.dumps(sorted(r.run_id for r in found if r.run_id not in seen)))
    if failed:
        context.log.warning(f"{failed} run(s) with a dead worker failed and mirrored FAILED")


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
    # Already FAILED (its hook, `run_worker_watch` or `dgas status` wrote it): writing again
    # would repeat the error and could put a retry's RUNNING scheduler_state back to ERROR.
    if run.job_name not in MIRRORED_JOBS or mirrored_failed(pipeline, run):
        return
    message = context.dagster_event.message or f"run {run.status.value.lower()}"
    fail_run(pipeline, context.instance, run.run_id, message.splitlines()[0])
