"""Watchlist jobs: a watchlist with an `HH:MM` schedule runs its own cycle at that time.

The watchlists live in our table, edited over the CLI or the REST API; `watchlist_sensor`
reads them on every tick, so a change needs no code reload. The run is `cycle/watchlist_run.py`.
"""

from datetime import date, datetime

import dagster as dg

from dgas_pipeline import clock
from dgas_pipeline.cycle.mirror import RunPartition
from dgas_pipeline.cycle.watchlist_run import (
    record_watchlist_run,
    run_watchlist,
    watchlist_partition_key,
)
from dgas_pipeline.defs.automation.reconcile import fail_run, hook_services
from dgas_pipeline.defs.cycle.assets import PROVIDER_RETRY
from dgas_pipeline.defs.names import (
    CONCURRENCY_GROUP,
    CONCURRENCY_TAG,
    KIND_TAG,
    LAUNCHED_BY_TAG,
    WATCHLIST_JOB,
    WATCHLIST_KEY_TAG,
    WATCHLIST_SENSOR,
)
from dgas_pipeline.defs.runtime.resources import (
    DatabaseResource,
    LocationParam,
    ProvidersResource,
    cycle_services,
)
from dgas_pipeline.defs.runtime.runs import run_identity
from dgas_pipeline.location import Location
from dgas_pipeline.market.bars import cycle_bar_due_by
from dgas_pipeline.watchlists import store as watchlist_store
from dgas_pipeline.watchlists.schedule import (
    WatchlistRun,
    due_watchlist_runs,
    skipped_watchlist_runs,
)

OP = "run_watchlist"


class WatchlistRunConfig(dg.Config):
    name: str
    session: str  # YYYY-MM-DD, exchange-local
    due: str  # ISO instant the run was planned for


@dg.op(name=OP, retry_policy=PROVIDER_RETRY)
def run_watchlist_op(
    context: dg.OpExecutionContext,
    config: WatchlistRunConfig,
    location: LocationParam,
    database: DatabaseResource,
    providers: ProvidersResource,
) -> None:
    """One watchlist's cycle of the bar last due at its scheduled time."""
    plan = location.config.plan_settings
    bar = cycle_bar_due_by(location.market, datetime.fromisoformat(config.due), plan)
    key = watchlist_partition_key(config.name, date.fromisoformat(config.session))
    run = run_identity(context, location, "watchlist", [RunPartition(key, bar.start, bar.end)])
    services = cycle_services(location, database, providers)
    status, found = run_watchlist(services, run, config.name, bar)
    context.log.info(f"watchlist {config.name}: {status}, {found} signals")


@dg.failure_hook(required_resource_keys={"location", "database"})
def watchlist_failure(context: dg.HookContext) -> None:
    """Mirror the failure, and show it on the watchlist's row."""
    error = context.op_exception
    message = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    services = hook_services(context)
    fail_run(services, context.instance, context.run_id, message)
    run = context.instance.get_run_by_id(context.run_id)
    name = run.run_config["ops"][OP]["config"]["name"] if run else None
    if name:
        record_watchlist_run(services, name, context.run_id, "FAILED")


@dg.job(
    name=WATCHLIST_JOB,
    tags={KIND_TAG: "watchlist", CONCURRENCY_TAG: CONCURRENCY_GROUP},
    hooks={watchlist_failure},
    executor_def=dg.in_process_executor,
)
def watchlist_job() -> None:
    run_watchlist_op()


def watchlist_sensor(location: Location) -> dg.SensorDefinition:
    """Runs each enabled HH:MM watchlist at its time on the location's sessions."""

    @dg.sensor(
        name=WATCHLIST_SENSOR,
        job=watchlist_job,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Runs each enabled HH:MM watchlist at its time on every session.",
    )
    def tick(context: dg.SensorEvaluationContext, database: DatabaseResource) -> dg.SensorResult:
        now = clock.now()
        after = datetime.fromisoformat(context.cursor) if context.cursor else now
        with database.engine().connect() as conn:
            watchlists = watchlist_store.list_watchlists(conn, enabled_only=True)
        due = due_watchlist_runs(watchlists, location.market, after, now)
        if due:
            return dg.SensorResult(
                run_requests=[run_request(run) for run in due], cursor=now.isoformat()
            )
        skipped = skipped_watchlist_runs(watchlists, location.market, after, now)
        reason = "; ".join(f"{s.name}: {s.reason}" for s in skipped) or (
            f"no watchlist due ({len(watchlists)} enabled)"
        )
        return dg.SensorResult(skip_reason=reason, cursor=now.isoformat())

    return tick


def run_request(run: WatchlistRun) -> dg.RunRequest:
    """The request of one due watchlist run, its mirror key in a tag."""
    config = {"name": run.name, "session": run.date.isoformat(), "due": run.due.isoformat()}
    return dg.RunRequest(
        run_key=run.run_key,
        run_config={"ops": {OP: {"config": config}}},
        tags={
            LAUNCHED_BY_TAG: "sensor",
            WATCHLIST_KEY_TAG: watchlist_partition_key(run.name, run.date),
        },
    )
