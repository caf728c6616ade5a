"""Clock work that is not per bar: metric roll-ups and the weekly calibration report.

Cron strings fire on the exchange's wall clock; each execution asks the calendar whether the
period held a session and skips with the reason when it did not (`cycle/rollups.py`).
Friday evening has two schedules because a Dagster schedule launches one job: the weekly
roll-up (an op job) and the week's `calibration_report` partition (an asset job); both cover
the same sessions.
"""

from datetime import datetime
from typing import TYPE_CHECKING

import dagster as dg

from dgas_pipeline.cycle.rollups import (
    Period,
    last_month,
    previous_hour,
    roll_up,
    this_week,
    week_of,
)
from dgas_pipeline.defs.names import (
    KIND_TAG,
    LAUNCHED_BY_TAG,
    METRICS_ASSET,
    METRICS_JOB,
    calibration_run_key,
    metrics_run_key,
)
from dgas_pipeline.defs.runtime.metadata import dagster_metadata
from dgas_pipeline.defs.runtime.resources import DatabaseResource
from dgas_pipeline.location import Location

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )


class RollupConfig(dg.Config):
    period: str  # hourly | daily | weekly | monthly
    start: str  # ISO instant, inclusive
    end: str  # ISO instant, exclusive


@dg.op
def roll_up_metrics(
    context: dg.OpExecutionContext, config: RollupConfig, database: DatabaseResource
) -> None:
    """Aggregate the period's runs and signals into prediction_metrics (idempotent upsert)."""
    start, end = datetime.fromisoformat(config.start), datetime.fromisoformat(config.end)
    done = roll_up(database.engine(), config.period, start, end)
    metadata: dict[str, object] = {
        "metrics": done.metrics,
        "runs": done.runs,
        "signals": done.signals,
    }
    if done.calibration:
        metadata["calibration"] = done.calibration
    context.log.info(
        f"{config.period} roll-up {config.start}..{config.end}: {done.metrics} metrics"
    )
    observation = dg.AssetObservation(asset_key=METRICS_ASSET, metadata=dagster_metadata(metadata))
    context.log_event(observation)


@dg.job(name=METRICS_JOB, tags={KIND_TAG: "metrics"})
def metrics_rollup_job() -> None:
    roll_up_metrics()


def build_schedules(
    location: Location, calibration_job: "UnresolvedAssetJobDefinition"
) -> list[dg.ScheduleDefinition]:
    """The roll-up schedules and the weekly calibration report, on the exchange's clock."""
    market = location.market
    tz = str(market.tz)

    def local_now(context: dg.ScheduleEvaluationContext) -> datetime:
        return context.scheduled_execution_time.astimezone(market.tz)

    @dg.schedule(cron_schedule="5 10-16 * * 1-5", job=metrics_rollup_job, execution_timezone=tz)
    def hourly_metrics(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        """The previous hour's metrics, during sessions only."""
        return rollup_request(previous_hour(market, local_now(context)))

    @dg.schedule(cron_schedule="0 19 * * 5", job=metrics_rollup_job, execution_timezone=tz)
    def weekly_metrics(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        """The week's metrics, from its first session's open to its last session's close."""
        return rollup_request(this_week(market, local_now(context).date()))

    @dg.schedule(cron_schedule="0 19 * * 5", job=calibration_job, execution_timezone=tz)
    def weekly_calibration_report(
        context: dg.ScheduleEvaluationContext,
    ) -> dg.RunRequest | dg.SkipReason:
        """The week's `calibration_report` partition (does 0.8 confidence win 80 %?), after its
        last session's EOD (Friday's, or Thursday's when Friday is a holiday)."""
        week = week_of(market, local_now(context).date())
        if isinstance(week, str):
            return dg.SkipReason(week)
        monday, _ = week
        return dg.RunRequest(
            run_key=calibration_run_key(monday),
            partition_key=monday.isoformat(),
            tags={LAUNCHED_BY_TAG: "schedule"},
        )

    @dg.schedule(cron_schedule="0 6 1 * *", job=metrics_rollup_job, execution_timezone=tz)
    def monthly_metrics(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        """Last month's metrics, on the first of the month."""
        return rollup_request(last_month(market, local_now(context).date()))

    return [hourly_metrics, weekly_metrics, weekly_calibration_report, monthly_metrics]


def rollup_request(period: Period | str) -> dg.RunRequest | dg.SkipReason:
    """The roll-up run of `period`, or the reason there is none."""
    if isinstance(period, str):
        return dg.SkipReason(period)
    window = {
        "period": period.name,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
    }
    return dg.RunRequest(
        run_key=metrics_run_key(period.name, period.key),
        run_config={"ops": {"roll_up_metrics": {"config": window}}},
        tags={LAUNCHED_BY_TAG: "schedule"},
    )
