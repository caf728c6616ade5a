"""`market_clock_sensor`: launches what the exchange clock says is due, exactly once.

Each tick asks the planner what fell due since the previous tick (the cursor holds that
instant) and requests it with a stable run key, which Dagster deduplicates across every run
of this sensor: a restarted daemon or a tick evaluated twice never launches a bar twice.
The tick reads only the calendar (never a provider) and the instance's materialisation
records when it has to catch up, so it stays well under Dagster's 60 s tick timeout.

`DGAS_SENSOR_INTERVAL_SECONDS` (default 30) sets the minimum time between ticks; the daemon
evaluates sensors every 5 s at best. Due launches never depend on it (a tick owes everything
due since the previous one); a shorter interval only launches them closer to their due time.
"""

import os
from datetime import datetime, timedelta

import dagster as dg

from dgas_pipeline.defs.clock import clock_now
from dgas_pipeline.defs.jobs import eod_job, prediction_cycle_job
from dgas_pipeline.defs.location import current_location
from dgas_pipeline.defs.mirror import LAUNCHED_BY_TAG
from dgas_pipeline.defs.reconcile import CYCLE_JOB, EOD_JOB
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market.ticks import TickRequest, plan_tick

STALE_TAG = "dgas/stale"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
DONE_ASSET = {"cycle": dg.AssetKey("notifications"), "eod": dg.AssetKey("eod_consolidation")}
SENSOR_INTERVAL_ENV = "DGAS_SENSOR_INTERVAL_SECONDS"
DEFAULT_SENSOR_INTERVAL_SECONDS = 30


def sensor_interval_seconds() -> int:
    raw = os.environ.get(SENSOR_INTERVAL_ENV, "").strip()
    if not raw:
        return DEFAULT_SENSOR_INTERVAL_SECONDS
    try:
        seconds = int(raw)
    except ValueError:
        raise InvalidInput(SENSOR_INTERVAL_ENV, raw, "is not a whole number of seconds") from None
    if seconds < 1:
        raise InvalidInput(SENSOR_INTERVAL_ENV, raw, "must be >= 1 second")
    return seconds


@dg.sensor(
    name="market_clock_sensor",
    jobs=[prediction_cycle_job, eod_job],
    minimum_interval_seconds=sensor_interval_seconds(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Launches each planned cycle and EOD on the exchange clock, once.",
)
def market_clock_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    location = current_location()
    config = location.config
    now = clock_now()
    after = datetime.fromisoformat(context.cursor) if context.cursor else None
    tick = plan_tick(
        location.market,
        after,
        now,
        config.plan_settings,
        catchup_sessions=config.catchup_sessions,
        stale_after=timedelta(minutes=config.stale_after_minutes),
    )
    done = DonePartitions(context.instance)
    requests = [part for r in tick.requests for part in done.outstanding(r)]
    if not requests:
        reason = tick.skip_reason or "everything owed has already run"
        return dg.SensorResult(skip_reason=reason, cursor=now.isoformat())
    return dg.SensorResult(run_requests=[run_request(r) for r in requests], cursor=now.isoformat())


class DonePartitions:
    """Drop catch-up partitions someone already ran (a backfill, the UI, the CLI).

    Only late requests pay for this lookup (once per kind and tick); live ones are new by
    construction. A range that loses bars in its middle splits into the stretches around
    them: a range run covers every partition from its first key to its last.
    """

    def __init__(self, instance: dg.DagsterInstance) -> None:
        self._instance = instance
        self._done: dict[str, set[str]] = {}

    def outstanding(self, request: TickRequest) -> list[TickRequest]:
        if not request.stale:
            return [request]
        if request.kind not in self._done:
            self._done[request.kind] = self._instance.get_materialized_partitions(
                DONE_ASSET[request.kind]
            )
        done = self._done[request.kind]
        stretches: list[list[str]] = [[]]
        for key in request.partition_keys:
            if key in done:
                stretches.append([])
            else:
                stretches[-1].append(key)
        return [
            TickRequest(request.kind, tuple(keys), request.session, request.stale)
            for keys in stretches
            if keys
        ]


def run_request(request: TickRequest) -> dg.RunRequest:
    tags = {LAUNCHED_BY_TAG: "sensor", STALE_TAG: str(request.stale).lower()}
    job = CYCLE_JOB if request.kind == "cycle" else EOD_JOB
    if len(request.partition_keys) == 1:
        return dg.RunRequest(
            run_key=request.run_key,
            job_name=job,
            partition_key=request.partition_keys[0],
            tags=tags,
        )
    return dg.RunRequest(
        run_key=request.run_key,
        job_name=job,
        tags={
            **tags,
            RANGE_START_TAG: request.partition_keys[0],
            RANGE_END_TAG: request.partition_keys[-1],
        },
    )
