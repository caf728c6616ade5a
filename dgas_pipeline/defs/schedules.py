"""Clock work that is not per bar: metric roll-ups and the weekly calibration report.

Cron strings fire on the exchange's wall clock; each execution asks the calendar whether the
period held a session and skips with the reason when it did not (a holiday hour has nothing
to roll up, and saying so beats a silent empty row). Daily metrics are not here: the EOD run
of each session writes them (see defs/eod.py). Friday evening has two schedules because a
Dagster schedule launches one job: the weekly roll-up (an op job) and the week's
`calibration_report` partition (an asset job); both cover the same sessions.
"""

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pandas as pd

from dgas_pipeline.analysis.calibration_report import calibration_markdown
from dgas_pipeline.analysis.metrics import period_metrics
from dgas_pipeline.defs.eod import metric_rows
from dgas_pipeline.defs.location import current_location
from dgas_pipeline.defs.reports import calibration_report_job, week_sessions
from dgas_pipeline.defs.resources import PipelineResource
from dgas_pipeline.market import TradingSession
from dgas_pipeline.store import repositories as repo
from dgas_pipeline.store.engine import write_transaction
from dgas_pipeline.store.period_signals import signals_issued_in

TZ = str(current_location().market.tz)


class RollupConfig(dg.Config):
    period: str  # hourly | daily | weekly | monthly
    start: str  # ISO instant, inclusive
    end: str  # ISO instant, exclusive


@dg.op
def roll_up_metrics(
    context: dg.OpExecutionContext, config: RollupConfig, pipeline: PipelineResource
) -> None:
    """Aggregate the period's runs and signals into prediction_metrics (idempotent upsert)."""
    start, end = datetime.fromisoformat(config.start), datetime.fromisoformat(config.end)
    engine = pipeline.engine()
    with write_transaction(engine) as conn:
        # Cycles by bar start in [start, end), their signals stamped at bar ends in (start, end].
        runs = repo.runs_between(conn, start, end)
        signals = pd.DataFrame(signals_issued_in(conn, start, end))
        rows = period_metrics(runs, signals)
        repo.upsert_metrics(conn, metric_rows(rows, config.period, start))
    calibration = next(
        (meta.get("calibration") for name, _, meta in rows if name == "win_rate"), None
    )
    metadata: dict[str, object] = {"metrics": len(rows), "runs": len(runs), "signals": len(signals)}
    if calibration:
        table = calibration_markdown(pd.DataFrame(calibration))
        metadata["calibration"] = dg.MetadataValue.md(table)
    context.log.info(f"{config.period} roll-up {config.start}..{config.end}: {len(rows)} metrics")
    context.log_event(dg.AssetObservation(asset_key="prediction_metrics", metadata=metadata))


@dg.job(tags={"dgas/kind": "metrics"})
def metrics_rollup_job() -> None:
    roll_up_metrics()


def _request(period: str, start: datetime, end: datetime, key: str) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=f"metrics:{period}:{key}",
        run_config={
            "ops": {
                "roll_up_metrics": {
                    "config": {"period": period, "start": start.isoformat(), "end": end.isoformat()}
                }
            }
        },
        tags={"dgas/launched_by": "schedule"},
    )


def _local_now(context: dg.ScheduleEvaluationContext) -> datetime:
    return context.scheduled_execution_time.astimezone(current_location().market.tz)


@dg.schedule(cron_schedule="5 10-16 * * 1-5", job=metrics_rollup_job, execution_timezone=TZ)
def hourly_metrics(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """The previous hour's metrics, during sessions only."""
    market = current_location().market
    now = _local_now(context)
    session = market.session(now.date())
    if not session.is_trading_day:
        return dg.SkipReason(f"market closed: {session.reason}")
    end = now.replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(hours=1)
    if end <= session.open or start >= session.close:
        return dg.SkipReason(f"{start:%H:%M}-{end:%H:%M} ET is outside the session")
    return _request("hourly", start.astimezone(UTC), end.astimezone(UTC), f"{start:%Y-%m-%d-%H}")


@dg.schedule(cron_schedule="0 19 * * 5", job=metrics_rollup_job, execution_timezone=TZ)
def weekly_metrics(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """The week's metrics, from its first session's open to its last session's close."""
    week = _week_of(context)
    if isinstance(week, dg.SkipReason):
        return week
    monday, sessions = week
    return _request("weekly", sessions[0].open, sessions[-1].close, monday.isoformat())


@dg.schedule(cron_schedule="0 19 * * 5", job=calibration_report_job, execution_timezone=TZ)
def weekly_calibration_report(
    context: dg.ScheduleEvaluationContext,
) -> dg.RunRequest | dg.SkipReason:
    """The week's `calibration_report` partition (does 0.8 confidence win 80 %?), after its
    last session's EOD (Friday's, or Thursday's when Friday is a holiday)."""
    week = _week_of(context)
    if isinstance(week, dg.SkipReason):
        return week
    monday, _ = week
    return dg.RunRequest(
        run_key=f"calibration:{monday.isoformat()}",
        partition_key=monday.isoformat(),
        tags={"dgas/launched_by": "schedule"},
    )


def _week_of(
    context: dg.ScheduleEvaluationContext,
) -> tuple[date, list[TradingSession]] | dg.SkipReason:
    """The Monday and the sessions of the week the tick falls in, or why there is nothing."""
    market = current_location().market
    today = _local_now(context).date()
    monday = today - timedelta(days=today.weekday())
    sessions = week_sessions(market, monday)
    if not sessions:
        return dg.SkipReason(f"no session in the week of {monday.isoformat()}")
    return monday, sessions


@dg.schedule(cron_schedule="0 6 1 * *", job=metrics_rollup_job, execution_timezone=TZ)
def monthly_metrics(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """Last month's metrics, on the first of the month."""
    market = current_location().market
    first = _local_now(context).date().replace(day=1)
    previous_first = (first - timedelta(days=1)).replace(day=1)
    sessions = market.sessions_between(previous_first, first - timedelta(days=1))
    if not sessions:
        return dg.SkipReason(f"no session in {previous_first:%Y-%m}")
    return _request("monthly", sessions[0].open, sessions[-1].close, f"{previous_first:%Y-%m}")


SCHEDULES = [hourly_metrics, weekly_metrics, weekly_calibration_report, monthly_metrics]
