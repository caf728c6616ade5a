"""EOD consolidation: after the close, judge the day's signals and write the day's metrics."""

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pandas as pd

from dgas_pipeline import analysis
from dgas_pipeline.analysis.metrics import period_metrics
from dgas_pipeline.data import close_providers, fetch_bars
from dgas_pipeline.defs import mirror
from dgas_pipeline.defs.location import current_location
from dgas_pipeline.defs.partitions import session_partitions
from dgas_pipeline.defs.resources import PipelineResource, secret
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.notify import deliver, eod_message
from dgas_pipeline.store import repositories as repo
from dgas_pipeline.store.engine import write_transaction

_location = current_location()
SESSION_PARTITIONS = session_partitions(_location.market, _location.config.partitions_start)
OUTCOME_FIELDS = ("outcome", "actual_high", "actual_low", "actual_close", "pnl_pct", "evaluated_at")


@dg.asset(partitions_def=SESSION_PARTITIONS, group_name="end_of_day", kinds={"pandas"})
def eod_consolidation(
    context: dg.AssetExecutionContext, pipeline: PipelineResource
) -> dg.MaterializeResult:
    """Outcomes of PENDING signals up to this close, daily metrics, and the EOD summary."""
    settings, market = pipeline.settings(), pipeline.market()
    day = date.fromisoformat(context.partition_key)
    session = market.session(day)
    if session.open is None or session.close is None:
        raise InvalidInput(
            "partition_key", context.partition_key, f"is not a session ({session.reason})"
        )
    run = mirror.identity_of(
        context, "eod", settings.interval, [mirror.RunPartition(context.partition_key)]
    )
    engine = pipeline.engine()
    mirror.mark_running(engine, run)

    with engine.connect() as conn:
        pending = pd.DataFrame(repo.pending_signals(conn, before=session.close))
    judged = judge(pending, pipeline, session.close)
    with write_transaction(engine) as conn:
        repo.update_outcomes(conn, judged.to_dict("records"))
        day_runs = repo.runs_between(conn, session.open, session.close)
        day_signals = pd.DataFrame(repo.signals_since(conn, session.open))
        rows = period_metrics(day_runs, day_signals)
        repo.upsert_metrics(
            conn,
            [
                {
                    "metric_type": name,
                    "metric_value": value,
                    "aggregation_period": "daily",
                    "period_start": session.open,
                    "metadata": meta,
                }
                for name, value, meta in rows
            ],
        )
    summary = {
        "date": day,
        "cycles": len(day_runs),
        "signals": len(day_signals),
        "evaluated": len(judged),
        "wins": int((judged["outcome"] == "WIN").sum()) if len(judged) else 0,
        "losses": int((judged["outcome"] == "LOSS").sum()) if len(judged) else 0,
    }
    stale = datetime.now(UTC) - session.close > timedelta(hours=12)
    report = deliver(engine, [eod_message(summary, stale=stale)], settings.notifications, secret)
    status = mirror.finish(engine, run, market, settings.plan_settings, errors=report.errors)
    return dg.MaterializeResult(
        metadata={
            "status": status,
            "signals_evaluated": len(judged),
            "metrics": dg.MetadataValue.json({name: value for name, value, _ in rows}),
            **{k: v for k, v in summary.items() if k != "date"},
        }
    )


def judge(pending: pd.DataFrame, pipeline: PipelineResource, close: datetime) -> pd.DataFrame:
    """Outcome rows (id + outcome fields) of the signals whose horizon has ended by `close`."""
    if not len(pending):
        return pd.DataFrame(columns=["id", *OUTCOME_FIELDS])
    settings, market = pipeline.settings(), pipeline.market()
    providers = pipeline.providers()
    try:
        fetched = fetch_bars(
            providers,
            sorted(pending["symbol"].unique()),
            pending["signal_timestamp"].min().to_pydatetime(),
            close,
            settings.interval_delta,
            market,
        )
    finally:
        close_providers(providers)
    outcomes = analysis.evaluate_outcomes(
        pending, fetched.bars, close, bar_interval=settings.interval_delta
    )
    decided = outcomes[outcomes["outcome"] != "PENDING"]
    return decided.assign(id=pending.loc[decided.index, "id"].to_numpy())[["id", *OUTCOME_FIELDS]]
