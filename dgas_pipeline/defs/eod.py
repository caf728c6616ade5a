"""EOD consolidation: after the close, judge the signals, write the day's metrics, summarise.

The EOD run owns the daily metrics (no schedule recomputes them): it runs once the session's
verdicts are in, per session partition, and the market clock sensor catches up a missed one
or a backfill reruns it; a wall-clock 18:00 schedule only ever launched its latest missed tick.

The summary is part of this asset, not an asset of its own: it reads what this run's
transaction wrote, is sent once by this run, and rerunning the EOD rebuilds it identically
(nothing new to judge, nothing sent twice), so a separate asset would only add a step, and a
second asset that `dgas backfill` and the sensor's "done" check would have to know about.
"""

from datetime import date, datetime, timedelta
from typing import Any

import dagster as dg
import pandas as pd

from dgas_pipeline import analysis
from dgas_pipeline.analysis.metrics import period_metrics
from dgas_pipeline.analysis.session_report import session_report
from dgas_pipeline.data import close_providers, fetch_bars
from dgas_pipeline.defs import mirror
from dgas_pipeline.defs.clock import clock_now
from dgas_pipeline.defs.location import current_location
from dgas_pipeline.defs.partitions import session_partitions
from dgas_pipeline.defs.reports import write_report
from dgas_pipeline.defs.resources import PipelineResource, secret
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.notify import deliver, eod_message
from dgas_pipeline.store import repositories as repo
from dgas_pipeline.store.engine import write_transaction
from dgas_pipeline.store.period_signals import signals_evaluated_in, signals_issued_in

_location = current_location()
SESSION_PARTITIONS = session_partitions(_location.market, _location.config.partitions_start)
OUTCOME_FIELDS = ("outcome", "actual_high", "actual_low", "actual_close", "pnl_pct", "evaluated_at")


@dg.asset(partitions_def=SESSION_PARTITIONS, group_name="end_of_day", kinds={"pandas"})
def eod_consolidation(
    context: dg.AssetExecutionContext, pipeline: PipelineResource
) -> dg.MaterializeResult:
    """Outcomes of PENDING signals up to this close, daily metrics, and the EOD summary (sent
    once, Markdown in the metadata and under `<instance storage>/reports/eod/`)."""
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
        day_signals = pd.DataFrame(signals_issued_in(conn, session.open, session.close))
        verdicts = pd.DataFrame(signals_evaluated_in(conn, session.open, session.close))
        rows = period_metrics(day_runs, day_signals)
        repo.upsert_metrics(conn, metric_rows(rows, "daily", session.open))
    report = session_report(
        day_signals,
        verdicts,
        day=day,
        close=session.close,
        early_close=session.early_close,
        reason=session.reason,
        cycles=len(day_runs),
        tz=str(market.tz),
    )
    folder = write_report(
        context.instance, "eod", {f"{context.partition_key}.md": report.markdown + "\n"}
    )
    due = session.close + settings.plan_settings.eod_delay
    stale = is_stale(clock_now(), due, timedelta(minutes=settings.stale_after_minutes))
    delivery = deliver(
        engine, [eod_message(report.summary, stale=stale)], settings.notifications, secret
    )
    status = mirror.finish(engine, run, market, settings.plan_settings, errors=delivery.errors)
    counts = {k: v for k, v in report.summary.items() if k not in ("date", "by_type")}
    return dg.MaterializeResult(
        metadata={
            "status": status,
            "signals_evaluated": len(judged),
            "stale_summary": stale,
            "metrics": dg.MetadataValue.json({name: value for name, value, _ in rows}),
            **counts,
            "by_type": dg.MetadataValue.json(report.summary["by_type"]),
            "summary": dg.MetadataValue.md(report.markdown),
            "summary_file": dg.MetadataValue.path(str(folder / f"{context.partition_key}.md")),
        }
    )


def is_stale(now: datetime, due: datetime, stale_after: timedelta) -> bool:
    """Is a summary run at `now` a late catch-up (stored, not sent)? More than `stale_after`
    past its planned launch (`close + eod_delay`): the market clock sensor's rule for a late
    EOD, so a summary it launched live is never withheld, whatever the EOD delay."""
    return now - due > stale_after


def metric_rows(
    rows: list[tuple[str, float, dict[str, Any]]], period: str, start: datetime
) -> list[dict[str, Any]]:
    """`period_metrics` rows as `prediction_metrics` rows of one period."""
    return [
        {
            "metric_type": name,
            "metric_value": value,
            "aggregation_period": period,
            "period_start": start,
            "metadata": meta,
        }
        for name, value, meta in rows
    ]


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
