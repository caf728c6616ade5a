"""Clock work that is not per bar: metric roll-ups and the weekly calibration report.

Cron strings fire on the exchange's wall clock; each execution asks the calendar whether the
period held a session and skips with the reason when it did not (a holiday hour has nothing
to roll up, and saying so beats a silent empty row).
"""

from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd

from dgas_pipeline.analysis.metrics import period_metrics
from dgas_pipeline.defs.location import current_location
from dgas_pipeline.defs.resources import PipelineResource
from dgas_pipeline.store import repositories as repo
from dgas_pipeline.store.engine import write_transaction

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
        runs = repo.runs_between(conn, start, end)
        signals = pd.DataFrame(repo.signals_since(conn, start))
        if len(signals):
            signals = signals[signals["signal_timestamp"] < end]
        rows = period_metrics(runs, signals)
        repo.upsert_metrics(
            conn,
            [
                {
                    "metric_type": name,
                    "metric_value": value,
                    "aggregation_period": config.period,
                    "period_start": start,
                    "metadata": meta,
                }
                for name, value, meta in rows
            ],
        )
    calibration = next(
        (meta.get("calibration") for name, _, meta in rows if name == "win_rate"), None
    )
    metadata: dict[str, object] = {"metrics": len(rows), "runs": len(runs), "signals": len(signals)}
    if calibration:
        metadata["calibration"] = dg.MetadataValue.md(calibration_table(calibration))
    context.log.info(f"{config.period} roll-up {config.start}..{config.end}: {len(rows)} metrics")
    context.log_event(dg.AssetObservation(asset_key="prediction_metrics", metadata=metadata))


def calibration_table(rows: list[dict[str, object]]) -> str:
    """Predicted confidence against realised win rate, as a Markdown table people can read."""
    lines = [
        "| confidence | signals | wins | win rate | mean confidence |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        rate = row.get("win_rate")
        shown = f"{rate:.0%}" if isinstance(rate, float) and rate == rate else "-"
        lines.append(
            f"| {row['bucket']} | {row['signals']} | {row['wins']} | {shown} | "
            f"{row.get('mean_confidence', float('nan')):.2f} |"
        )
    return "\n".join(lines)


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


@dg.schedule(cron_schedule="0 18 * * 1-5", job=metrics_rollup_job, execution_timezone=TZ)
def daily_metrics(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """The session's metrics, after its EOD."""
    market = current_location().market
    session = market.session(_local_now(context).date())
    if session.open is None or session.close is None:
        return dg.SkipReason(f"market closed: {session.reason}")
    return _request("daily", session.open, session.close, session.date.isoformat())


@dg.schedule(cron_schedule="0 19 * * 5", job=metrics_rollup_job, execution_timezone=TZ)
def weekly_metrics_and_calibration(
    context: dg.ScheduleEvaluationContext,
) -> dg.RunRequest | dg.SkipReason:
    """The week's metrics and calibration report (does 0.8 confidence win 80 %?)."""
    market = current_location().market
    friday = _local_now(context).date()
    monday = friday - timedelta(days=4)
    sessions = market.sessions_between(monday, friday)
    if not sessions:
        return dg.SkipReason(f"no session in the week of {monday.isoformat()}")
    return _request("weekly", sessions[0].open, sessions[-1].close, monday.isoformat())


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


SCHEDULES = [hourly_metrics, daily_metrics, weekly_metrics_and_calibration, monthly_metrics]
