"""EOD consolidation: after the close, judge the signals, write the day's metrics, summarise.

The EOD run owns the daily metrics (no schedule recomputes them): it runs once the session's
verdicts are in, per session, and the market clock sensor catches up a missed one or a
backfill reruns it.

The summary is part of this step, not a step of its own: it reads what this run's
transaction wrote, is sent once by this run, and rerunning the EOD rebuilds it identically
(nothing new to judge, nothing sent twice).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from dgas_pipeline import analysis
from dgas_pipeline.analysis.metrics import period_metrics
from dgas_pipeline.analysis.session_report import SessionReport, session_report
from dgas_pipeline.cycle import mirror
from dgas_pipeline.cycle.reports import write_report
from dgas_pipeline.cycle.rollups import metric_rows
from dgas_pipeline.cycle.services import CycleServices
from dgas_pipeline.cycle.stage import Markdown
from dgas_pipeline.data import close_providers, fetch_bars
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market import TradingSession
from dgas_pipeline.market.lateness import is_late
from dgas_pipeline.market.planner import eod_due
from dgas_pipeline.notify import deliver, eod_message
from dgas_pipeline.store import repositories as repo
from dgas_pipeline.store.engine import write_transaction
from dgas_pipeline.store.period_signals import signals_evaluated_in, signals_issued_in

OUTCOME_FIELDS = ("outcome", "actual_high", "actual_low", "actual_close", "pnl_pct", "evaluated_at")


def consolidate_session(
    services: CycleServices, run: mirror.RunIdentity, day: date, reports_dir: Path
) -> dict[str, Any]:
    """Outcomes of PENDING signals up to the close, the daily metrics, and the EOD summary:
    sent once (stored, not sent, when late), written under `<reports_dir>/eod/`; metadata."""
    settings, key = services.settings, day.isoformat()
    session = services.market.session(day)
    if session.open is None or session.close is None:
        raise InvalidInput("partition_key", key, f"is not a session ({session.reason})")
    engine = services.engine()
    mirror.mark_running(engine, run)
    judged, report, metrics = judge_and_measure(services, session, session.open, session.close)
    folder = write_report(reports_dir, "eod", {f"{key}.md": report.markdown + "\n"})
    stale = is_late(
        eod_due(session, settings.plan_settings),
        services.now(),
        timedelta(minutes=settings.stale_after_minutes),
    )
    message = eod_message(report.summary, stale=stale)
    delivery = deliver(engine, [message], settings.notifications, services.secret)
    status = mirror.finish(
        engine, run, services.market, settings.plan_settings, errors=delivery.errors
    )
    counts = {k: v for k, v in report.summary.items() if k not in ("date", "by_type")}
    return {
        "status": status,
        "signals_evaluated": len(judged),
        "stale_summary": stale,
        "metrics": metrics,
        **counts,
        "by_type": report.summary["by_type"],
        "summary": Markdown(report.markdown),
        "summary_file": folder / f"{key}.md",
    }


def judge_and_measure(
    services: CycleServices, session: TradingSession, opened: datetime, closed: datetime
) -> tuple[pd.DataFrame, SessionReport, dict[str, float]]:
    """In one transaction: the verdicts of the signals decided by the close (`closed`) and
    the day's metrics; then the session's report of what that transaction wrote."""
    engine = services.engine()
    with engine.connect() as conn:
        pending = pd.DataFrame(repo.pending_signals(conn, before=closed))
    judged = judge(services, pending, closed)
    with write_transaction(engine) as conn:
        repo.update_outcomes(conn, judged.to_dict("records"))
        day_runs = repo.runs_between(conn, opened, closed)
        day_signals = pd.DataFrame(signals_issued_in(conn, opened, closed))
        verdicts = pd.DataFrame(signals_evaluated_in(conn, opened, closed))
        rows = period_metrics(day_runs, day_signals)
        repo.upsert_metrics(conn, metric_rows(rows, "daily", opened))
    report = session_report(
        day_signals,
        verdicts,
        day=session.date,
        close=closed,
        early_close=session.early_close,
        reason=session.reason,
        cycles=len(day_runs),
        tz=str(services.market.tz),
    )
    return judged, report, {name: value for name, value, _ in rows}


def judge(services: CycleServices, pending: pd.DataFrame, close: datetime) -> pd.DataFrame:
    """Outcome rows (id + outcome fields) of the signals whose horizon has ended by `close`."""
    if not len(pending):
        return pd.DataFrame(columns=["id", *OUTCOME_FIELDS])
    settings, market = services.settings, services.market
    providers = services.providers()
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
