"""Watchlist jobs: a watchlist with an `HH:MM` schedule runs its own cycle at that time.

The watchlists live in our table, edited over the CLI or the REST API; `watchlist_sensor`
reads them on every tick, so a change needs no code reload. A run covers the bar last closed
at its time, through the same cycle steps as the cycle assets, and is mirrored like them
(kind `watchlist`, key `<name>:<date>`), plus its status on the watchlist's row.
"""

from datetime import date, datetime

import dagster as dg

from dgas_pipeline.defs import mirror
from dgas_pipeline.defs.assets import PROVIDER_RETRY
from dgas_pipeline.defs.clock import clock_now
from dgas_pipeline.defs.cycle_steps import cap_symbols, find_and_store_signals, notify_signals
from dgas_pipeline.defs.cycle_steps import fetch_history as fetch_cycle_history
from dgas_pipeline.defs.location import current_location
from dgas_pipeline.defs.mirror import LAUNCHED_BY_TAG
from dgas_pipeline.defs.reconcile import KIND_TAG, WATCHLIST_JOB, WATCHLIST_KEY_TAG, fail_run
from dgas_pipeline.defs.resources import PipelineResource
from dgas_pipeline.market.bars import bar_closed_by
from dgas_pipeline.store.engine import write_transaction
from dgas_pipeline.watchlists import store as watchlist_store
from dgas_pipeline.watchlists.schedule import due_watchlist_runs, skipped_watchlist_runs


class WatchlistRunConfig(dg.Config):
    name: str
    session: str  # YYYY-MM-DD, exchange-local
    due: str  # ISO instant the run was planned for


@dg.op(retry_policy=PROVIDER_RETRY)
def run_watchlist(
    context: dg.OpExecutionContext, config: WatchlistRunConfig, pipeline: PipelineResource
) -> None:
    """One watchlist's cycle of the bar last due at its scheduled time."""
    settings, market = pipeline.settings(), pipeline.market()
    engine = pipeline.engine()
    with engine.connect() as conn:
        watchlist = watchlist_store.get_watchlist(conn, config.name)
    plan = settings.plan_settings
    bar = bar_closed_by(market, datetime.fromisoformat(config.due) - plan.data_delay, plan.interval)
    key = watchlist_key(config.name, date.fromisoformat(config.session))
    run = mirror.identity_from_instance(
        context.instance,
        context.run_id,
        "watchlist",
        settings.interval,
        [mirror.RunPartition(key, bar.start, bar.end)],
    )
    wanted = list(watchlist.symbols)
    symbols, cut = cap_symbols(wanted, settings.max_symbols_per_cycle)
    mirror.mark_running(engine, run, symbols_requested=len(wanted))
    frame, fetched = fetch_cycle_history(pipeline, symbols, [bar])
    kept, failures = find_and_store_signals(pipeline, frame, [bar], context.run.run_id)
    report = notify_signals(pipeline, kept)
    errors = [
        *([cut] if cut else []),
        *(f"{s}: {m}" for s, m in sorted(fetched.errors.items())),
        *(failure.line for failure in failures),
        *report.errors,
    ]
    status = mirror.finish(
        engine,
        run,
        market,
        plan,
        errors=errors,
        symbols_processed=len(fetched.symbols) - len(failures),
        signals_generated=len(kept),
    )
    with write_transaction(engine) as conn:
        watchlist_store.record_run(conn, config.name, context.run_id, status, clock_now())
    context.log.info(f"watchlist {config.name}: {status}, {len(kept)} signals")


@dg.failure_hook(required_resource_keys={"pipeline"})
def watchlist_failure(context: dg.HookContext) -> None:
    """Mirror the failure, and show it on the watchlist's row."""
    error = context.op_exception
    message = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    fail_run(context.resources.pipeline, context.instance, context.run_id, message)
    run = context.instance.get_run_by_id(context.run_id)
    name = run.run_config["ops"]["run_watchlist"]["config"]["name"] if run else None
    if name:
        with write_transaction(context.resources.pipeline.engine()) as conn:
            watchlist_store.record_run(conn, name, context.run_id, "FAILED", clock_now())


@dg.job(
    name=WATCHLIST_JOB,
    tags={KIND_TAG: "watchlist", "dgas/concurrency": "pipeline"},
    hooks={watchlist_failure},
    executor_def=dg.in_process_executor,
)
def watchlist_job() -> None:
    run_watchlist()


@dg.sensor(
    name="watchlist_sensor",
    job=watchlist_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Runs each enabled HH:MM watchlist at its time on every session.",
)
def watchlist_sensor(
    context: dg.SensorEvaluationContext, pipeline: PipelineResource
) -> dg.SensorResult:
    market = current_location().market
    now = clock_now()
    after = datetime.fromisoformat(context.cursor) if context.cursor else now
    with pipeline.engine().connect() as conn:
        watchlists = watchlist_store.list_watchlists(conn, enabled_only=True)
    due = due_watchlist_runs(watchlists, market, after, now)
    requests = [
        dg.RunRequest(
            run_key=run.run_key,
            run_config={
                "ops": {
                    "run_watchlist": {
                        "config": {
                            "name": run.name,
                            "session": run.date.isoformat(),
                            "due": run.due.isoformat(),
                        }
                    }
                }
            },
            tags={
                LAUNCHED_BY_TAG: "sensor",
                WATCHLIST_KEY_TAG: watchlist_key(run.name, run.date),
            },
        )
        for run in due
    ]
    if requests:
        return dg.SensorResult(run_requests=requests, cursor=now.isoformat())
    skipped = skipped_watchlist_runs(watchlists, market, after, now)
    reason = "; ".join(f"{s.name}: {s.reason}" for s in skipped) or (
        f"no watchlist due ({len(watchlists)} enabled)"
    )
    return dg.SensorResult(skip_reason=reason, cursor=now.isoformat())


def watchlist_key(name: str, day: date) -> str:
    return f"{name}:{day.isoformat()}"
