"""Our runs as Dagster records them: who launched a run, and its identity for the mirror."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from dgas_pipeline import clock
from dgas_pipeline.cycle.mirror import RunIdentity, RunPartition
from dgas_pipeline.defs.names import (
    BACKFILL_ID_TAG,
    CYCLE_ASSETS,
    EOD_ASSET,
    KIND_OF_JOB,
    LAUNCHED_BY_TAG,
    PARENT_RUN_TAG,
    RETRY_NUMBER_TAG,
    SCHEDULE_NAME_TAG,
    SENSOR_NAME_TAG,
)
from dgas_pipeline.location import Location
from dgas_pipeline.market.bars import Bar, bar_for_key

RunContext = dg.AssetExecutionContext | dg.OpExecutionContext | dg.HookContext


def launched_by(tags: Mapping[str, str]) -> str:
    """Who started a run, from the tags Dagster and our launchers put on it."""
    if tags.get(LAUNCHED_BY_TAG):
        return tags[LAUNCHED_BY_TAG]
    if RETRY_NUMBER_TAG in tags or PARENT_RUN_TAG in tags:
        return "retry"
    if BACKFILL_ID_TAG in tags:
        return "backfill"
    if SENSOR_NAME_TAG in tags:
        return "sensor"
    if SCHEDULE_NAME_TAG in tags:
        return "schedule"
    return "ui"


def mirrored_kind(run: dg.DagsterRun) -> str | None:
    """The kind of row a run has in `prediction_runs`, or None when the mirror does not hold it.

    Our jobs say it by name. A backfill launched on the assets (the UI's asset graph or
    partitions page) runs them in Dagster's implicit asset job instead: only its selected
    assets (or checks) tell that it is a cycle or an EOD run, and it is mirrored, watched for
    a dead worker and reconciled like any other of our runs.
    """
    if run.job_name in KIND_OF_JOB:
        return KIND_OF_JOB[run.job_name]
    selected = {key.to_user_string() for key in run.asset_selection or ()}
    selected |= {key.asset_key.to_user_string() for key in run.asset_check_selection or ()}
    if selected & set(CYCLE_ASSETS):
        return "cycle"
    if EOD_ASSET in selected:
        return "eod"
    return None


def is_mirrored(run: dg.DagsterRun) -> bool:
    return mirrored_kind(run) is not None


def identity_from_instance(
    instance: dg.DagsterInstance,
    run_id: str,
    kind: str,
    interval_type: str,
    partitions: Sequence[RunPartition],
) -> RunIdentity:
    """A run's identity for the mirror, from its record: start, launcher, parent run."""
    record = instance.get_run_record_by_id(run_id)
    started = record.start_time if record and record.start_time else None
    created = record.create_timestamp if record else None
    tags = record.dagster_run.tags if record else {}
    return RunIdentity(
        dagster_run_id=run_id,
        kind=kind,
        launched_by=launched_by(tags),
        interval_type=interval_type,
        started_at=(
            datetime.fromtimestamp(started, UTC)
            if started
            else (created.astimezone(UTC) if created else clock.system_now())
        ),
        partitions=partitions,
        parent_run_id=tags.get(PARENT_RUN_TAG),
    )


def run_identity(
    context: RunContext, location: Location, kind: str, partitions: Sequence[RunPartition]
) -> RunIdentity:
    """The identity of the run `context` belongs to."""
    return identity_from_instance(
        context.instance, run_id_of(context), kind, location.config.interval, partitions
    )


def run_id_of(context: RunContext) -> str:
    """The id of the run a step belongs to. An asset's is its op context's (what
    `context.run.run_id` says in a run), which is also set when a test invokes the body
    directly, where there is no run record."""
    if isinstance(context, dg.AssetExecutionContext):
        return context.op_execution_context.run_id
    return context.run_id


def run_bars(context: dg.AssetExecutionContext, location: Location) -> list[Bar]:
    """The planner's bars behind the partitions a cycle run covers."""
    interval = location.config.interval_delta
    return [bar_for_key(location.market, key, interval) for key in context.partition_keys]


def cycle_run(
    context: dg.AssetExecutionContext, location: Location
) -> tuple[list[Bar], RunIdentity]:
    """The bars a cycle run covers and its identity."""
    bars = run_bars(context, location)
    partitions = [RunPartition(bar.key, bar.start, bar.end) for bar in bars]
    return bars, run_identity(context, location, "cycle", partitions)


def reports_dir(instance: dg.DagsterInstance) -> Path:
    """Where report files go: `<instance storage>/reports/`."""
    return Path(instance.storage_directory()) / "reports"
