"""Mirror what a run could not write itself: failures, cancellations, killed processes.

The failure hook (`mirror_failure`) covers a step that raised; a run killed with SIGKILL or
cancelled from the UI never reaches its hook, so a run-status sensor (with the daemon) and
`dgas status` (without one) reconcile from Dagster's run records. All of them write through
`fail_run`.

A killed worker leaves its run STARTED in Dagster (the default run launcher cannot check a
worker's health, and a `dgas run-once` run has no launcher), so `run_worker_watch` (with the
daemon) and `dgas status` first report failed the runs whose worker died
(`workers.find_dead_workers`), then mirror them like any failed run.
"""

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import dagster as dg
from sqlalchemy.exc import DataError, IntegrityError

from dgas_pipeline.cycle import mirror
from dgas_pipeline.cycle.services import CycleServices
from dgas_pipeline.defs.automation import workers
from dgas_pipeline.defs.names import (
    KIND_TAG,
    LAUNCHED_BY_TAG,
    MIRROR_CANCELLATIONS_SENSOR,
    MIRROR_FAILURES_SENSOR,
    PARTITION_TAG,
    RANGE_END_TAG,
    RANGE_START_TAG,
    WATCHLIST_KEY_TAG,
    WORKER_WATCH_SENSOR,
)
from dgas_pipeline.defs.runtime.resources import DatabaseResource, LocationParam, cycle_services
from dgas_pipeline.defs.runtime.runs import (
    identity_from_instance,
    is_mirrored,
    launched_by,
    mirrored_kind,
)
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market import MarketHoursManager, PlanSettings, plan_launches
from dgas_pipeline.market.bars import Bar, bar_for_key
from dgas_pipeline.market.planner import EOD_KEY_FORMAT
from dgas_pipeline.store import repositories as repo
from dgas_pipeline.store import tables

# The widest key the mirror's column holds (`prediction_runs.partition_key`).
MAX_KEY_LENGTH = tables.prediction_runs.c.partition_key.type.length or 128
# How often the daemon looks for dead workers: a few /proc reads per running run, cheap.
WORKER_WATCH_INTERVAL_SECONDS = 5

log = logging.getLogger(__name__)


class UnmappableRun(ValueError):
    """A run whose tags name nothing this deployment can write rows for: a partition key the
    calendar or the current interval does not have (the config changed since), a range that
    does not resolve, a kind or launcher our tables do not know. It is skipped, never fatal:
    one odd run in the instance must not stop every other run's mirror, nor `dgas status`."""


@dataclass(frozen=True)
class SkippedRun:
    run_id: str
    job_name: str
    reason: str

    def describe(self) -> str:
        return f"run {self.run_id} ({self.job_name}): {self.reason}"


@dataclass
class Reconciliation:
    """What one pass over the instance's finished runs did."""

    mirrored: int = 0
    skipped: list[SkippedRun] = field(default_factory=list)


@dataclass(frozen=True)
class MappedRun:
    """A run as the mirror sees it: its kind and the partitions it writes rows for."""

    kind: str
    partitions: list[mirror.RunPartition]


def fail_run(
    services: CycleServices, instance: dg.DagsterInstance, run_id: str, message: str
) -> bool:
    """Write FAILED rows for every partition of the run and put scheduler_state in ERROR;
    False (and a warning in the log) for a run that cannot be mapped to rows."""
    run = instance.get_run_by_id(run_id)
    try:
        if run is None:
            raise UnmappableRun("is not in the instance")
        write_failed(services, instance, run, map_run(services, run), message)
    except UnmappableRun as err:
        log.warning("run %s not mirrored: %s", run_id, err)
        return False
    return True


def write_failed(
    services: CycleServices,
    instance: dg.DagsterInstance,
    run: dg.DagsterRun,
    mapped: MappedRun,
    message: str,
) -> None:
    settings = services.settings
    identity = identity_from_instance(
        instance, run.run_id, mapped.kind, settings.interval, mapped.partitions
    )
    record = instance.get_run_record_by_id(run.run_id)
    # Set once Dagster has finished the run: this is then a mirror written after the fact.
    ended_at = datetime.fromtimestamp(record.end_time, UTC) if record and record.end_time else None
    try:
        mirror.finish(
            services.engine(),
            identity,
            services.market,
            settings.plan_settings,
            failed=message[:500],
            ended_at=ended_at,
        )
    except (DataError, IntegrityError) as err:
        # A value of this run our columns refuse; the transaction rolled back, nothing written.
        cause = str(getattr(err, "orig", None) or err).splitlines()[0]
        raise UnmappableRun(f"its rows do not fit our tables: {cause}") from None


def map_run(services: CycleServices, run: dg.DagsterRun) -> MappedRun:
    """The kind and partitions of one of our runs, from Dagster's tags; UnmappableRun when the
    tags name something the current calendar, interval or tables do not have."""
    tags = dict(run.tags)
    kind = run_kind(run)
    who = launched_by(tags)
    if who not in tables.LAUNCHERS:
        raise UnmappableRun(
            f"{LAUNCHED_BY_TAG} {_short(who)} is not one of {', '.join(tables.LAUNCHERS)}"
        )
    market, settings = services.market, services.settings
    keys = run_partition_keys(tags, kind, market, settings.interval_delta)
    if not keys:
        raise UnmappableRun("names no partition")
    if kind != "cycle":
        return MappedRun(kind, [mirror.RunPartition(key) for key in keys])
    parts = []
    for key in keys:
        bar = _cycle_bar(market, key, settings.interval_delta)
        parts.append(mirror.RunPartition(key, bar.start, bar.end))
    return MappedRun(kind, parts)


def run_kind(run: dg.DagsterRun) -> str:
    """`dgas/kind` when it is one of ours, else what the job says."""
    tagged = run.tags.get(KIND_TAG)
    if tagged in tables.RUN_KINDS:
        return tagged
    kind = mirrored_kind(run)
    if kind is not None:
        return kind
    raise UnmappableRun(f"{KIND_TAG} {_short(tagged)} is not one of {', '.join(tables.RUN_KINDS)}")


def run_partition_keys(
    tags: dict[str, str], kind: str, market: MarketHoursManager, interval: timedelta
) -> list[str]:
    """The partitions a run covers, from Dagster's own tags (one key, or a range).

    A range is resolved with the planner, not the partitions definition, so a run from
    before a change of `partitions_start` still maps; its ends must be planned keys of the
    current interval and calendar, else UnmappableRun.
    """
    if kind == "watchlist":
        key = tags.get(WATCHLIST_KEY_TAG)
        return [_watchlist_key(key)] if key is not None else []
    if PARTITION_TAG in tags:
        key = _checked_length(tags[PARTITION_TAG])
        if kind == "eod":
            _session_of(market, key)
        return [key]
    start, end = tags.get(RANGE_START_TAG), tags.get(RANGE_END_TAG)
    if start is None and end is None:
        return []
    if not start or not end:
        raise UnmappableRun(f"has half a partition range ({_short(start)} .. {_short(end)})")
    if kind == "eod":
        first, last = _session_of(market, start), _session_of(market, end)
        days = [s.date for s in market.sessions_between(first, last)] if first <= last else []
        keys = [day.strftime(EOD_KEY_FORMAT) for day in days]
    else:
        first_bar = _cycle_bar(market, start, interval)
        last_bar = _cycle_bar(market, end, interval)
        keys = [
            x.partition_key
            for x in plan_launches(
                market,
                market.local(first_bar.start).date(),
                max(market.local(first_bar.start), market.local(last_bar.start)).date(),
                PlanSettings(interval),
            )
            if x.bar_start is not None and first_bar.start <= x.bar_start <= last_bar.start
        ]
    if not keys:
        raise UnmappableRun(f"has an empty partition range {_short(start)} .. {_short(end)}")
    return keys


def reconcile_dead_workers(
    services: CycleServices,
    instance: dg.DagsterInstance,
    dead: Iterable[workers.DeadWorker] | None = None,
) -> int:
    """Fail in Dagster, and mirror FAILED, the runs of ours whose worker on this host died
    (`dead`, or all found now); how many."""
    failed = 0
    for run in workers.find_dead_workers(instance, is_mirrored) if dead is None else dead:
        if workers.report_failed(instance, run):
            fail_run(services, instance, run.run_id, run.message)
            failed += 1
    return failed


def reconcile_finished_runs(
    services: CycleServices, instance: dg.DagsterInstance, limit: int = 200
) -> Reconciliation:
    """Mirror as FAILED every recent failed or cancelled run whose rows still say otherwise;
    runs that cannot be mapped are skipped, with the reason, and logged."""
    records = instance.get_run_records(
        filters=dg.RunsFilter(
            job_name=None,
            statuses=[dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED],
        ),
        limit=limit,
    )
    done = Reconciliation()
    for record in records:
        run = record.dagster_run
        if not is_mirrored(run):
            continue
        try:
            mapped = map_run(services, run)
            if mirrored_failed(services, run, mapped):
                continue
            message = f"run {run.status.value.lower()} (reconciled)"
            write_failed(services, instance, run, mapped, message)
        except UnmappableRun as err:
            skipped = SkippedRun(run.run_id, run.job_name, str(err))
            # Returned to the caller, who reports it (`dgas status` lists it); a warning
            # here would repeat it on stderr at every call.
            log.info("not mirrored: %s", skipped.describe())
            done.skipped.append(skipped)
            continue
        done.mirrored += 1
    return done


def mirrored_failed(services: CycleServices, run: dg.DagsterRun, mapped: MappedRun) -> bool:
    """Do all of the run's rows say FAILED already (nothing left to reconcile)?"""
    with services.engine().connect() as conn:
        rows = [repo.get_run(conn, run.run_id, part.key) for part in mapped.partitions]
    return all(row is not None and row["status"] == "FAILED" for row in rows)


def _cycle_bar(market: MarketHoursManager, key: str, interval: timedelta) -> Bar:
    try:
        return bar_for_key(market, _checked_length(key), interval)
    except InvalidInput as err:
        raise UnmappableRun(f"partition {_short(key)}: {err.expected}") from None


def _session_of(market: MarketHoursManager, key: str) -> date:
    try:
        day = datetime.strptime(key, EOD_KEY_FORMAT).date()
    except ValueError:
        raise UnmappableRun(f"partition {_short(key)} is not a session date (YYYY-MM-DD)") from None
    try:
        trading = market.session(day).is_trading_day
    except InvalidInput as err:
        raise UnmappableRun(f"partition {_short(key)}: {err.expected}") from None
    if not trading:
        raise UnmappableRun(f"partition {_short(key)} is not a session")
    return day


def _watchlist_key(key: str) -> str:
    name, _, day = _checked_length(key).rpartition(":")
    try:
        datetime.strptime(day, EOD_KEY_FORMAT)
    except ValueError:
        name = ""
    if not name:
        raise UnmappableRun(f"{WATCHLIST_KEY_TAG} {_short(key)} is not <name>:<YYYY-MM-DD>")
    return key


def _checked_length(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise UnmappableRun(
            f"partition {_short(key)} is empty or longer than {MAX_KEY_LENGTH} characters"
        )
    return key


def _short(value: str | None, limit: int = 40) -> str:
    """A tag's value for a message: quoted, cut to `limit` characters."""
    if value is None:
        return "(none)"
    return repr(value if len(value) <= limit else value[:limit] + "...")


@dg.sensor(
    name=WORKER_WATCH_SENSOR,
    minimum_interval_seconds=WORKER_WATCH_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Fails and mirrors FAILED the runs whose worker process died on this host.",
)
def run_worker_watch(
    context: dg.SensorEvaluationContext, location: LocationParam, database: DatabaseResource
) -> None:
    """Without it a SIGKILLed run stays STARTED until `dagster/max_runtime`; once failed,
    run retries (dagster.yaml `run_retries`) rerun it like any failed run.

    A run is failed when its worker was found dead on two ticks in a row (the cursor holds
    the runs found on the last one). A code server that launched the run and still lives
    fails it itself within a second of its worker's death; reporting at first sight would
    race it and give the run two failure events.
    """
    found = workers.find_dead_workers(context.instance, is_mirrored)
    seen = set(json.loads(context.cursor)) if context.cursor else set()
    confirmed = [run for run in found if run.run_id in seen]
    services = cycle_services(location, database)
    failed = reconcile_dead_workers(services, context.instance, confirmed)
    context.update_cursor(json.dumps(sorted(r.run_id for r in found if r.run_id not in seen)))
    if failed:
        context.log.warning(f"{failed} run(s) with a dead worker failed and mirrored FAILED")


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.FAILURE,
    name=MIRROR_FAILURES_SENSOR,
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
def run_mirror_failures(
    context: dg.RunStatusSensorContext, location: LocationParam, database: DatabaseResource
) -> None:
    """A run that failed without its hook (killed, crashed worker) still ends up FAILED."""
    _reconcile_one(context, cycle_services(location, database))


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.CANCELED,
    name=MIRROR_CANCELLATIONS_SENSOR,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
def run_mirror_cancellations(
    context: dg.RunStatusSensorContext, location: LocationParam, database: DatabaseResource
) -> None:
    _reconcile_one(context, cycle_services(location, database))


def _reconcile_one(context: dg.RunStatusSensorContext, services: CycleServices) -> None:
    run = context.dagster_run
    if not is_mirrored(run):
        return
    message = context.dagster_event.message or f"run {run.status.value.lower()}"
    try:
        mapped = map_run(services, run)
        # Already FAILED (its hook, `run_worker_watch` or `dgas status` wrote it): writing
        # again would repeat the error and could put a retry's RUNNING state back to ERROR.
        if not mirrored_failed(services, run, mapped):
            write_failed(services, context.instance, run, mapped, message.splitlines()[0])
    except UnmappableRun as err:
        context.log.warning(
            f"not mirrored: {SkippedRun(run.run_id, run.job_name, str(err)).describe()}"
        )


@dg.failure_hook(required_resource_keys={"location", "database"})
def mirror_failure(context: dg.HookContext) -> None:
    """A step failed for good: its run's rows become FAILED and scheduler_state ERROR.

    The message is the exception's type and first line: enough to act on, and it never
    carries a secret (providers and channels redact theirs before raising).
    """
    error = context.op_exception
    first_line = str(error).splitlines()[0] if error and str(error) else ""
    message = f"{context.op.name}: {type(error).__name__}: {first_line}"
    fail_run(hook_services(context), context.instance, context.run_id, message)


def hook_services(context: dg.HookContext) -> CycleServices:
    """The cycle services of a failure hook, on the run's resources."""
    return cycle_services(context.resources.location, context.resources.database)
