"""`market_clock_sensor`: launches what the exchange clock says is due, exactly once.

Each tick asks the planner what fell due since the previous tick (the cursor holds that
instant) and requests it with a stable run key, which Dagster deduplicates across every run
of this sensor: a restarted daemon or a tick evaluated twice never launches a bar twice.
The tick reads only the calendar (never a provider) and the instance's materialisation
records when it has to catch up, so it stays well under Dagster's 60 s tick timeout.

`DGAS_SENSOR_INTERVAL_SECONDS` (default 1) sets the minimum time between ticks; the daemon
evaluates sensors every 5 s at best, so the default means "on every daemon loop". Due launches
never depend on it (a tick owes everything due since the previous one); a shorter interval
only launches them closer to their due time. Measured with the real daemon
(bench/launch_lag.py, one session, 14 launches), due -> enqueued p95: 35 s at 30, 11 s at 5
(ticks then often fall every other loop, 10 s apart), 5 s at 1, inside the 10 s the launch
lag may take; a tick costs under 1 ms p95 (bench/sensor_tick.py), so ticking on every loop
is cheap.
"""

import os
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import dagster as dg

from dgas_pipeline import clock
from dgas_pipeline.defs.names import (
    JOB_OF_KIND,
    LAUNCHED_BY_TAG,
    MARKET_CLOCK_SENSOR,
    RANGE_END_TAG,
    RANGE_START_TAG,
    STALE_TAG,
)
from dgas_pipeline.defs.runtime.logs import LOG_RUN_CONFIG
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.location import Location
from dgas_pipeline.market.ticks import TickRequest, plan_tick

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )


SENSOR_INTERVAL_ENV = "DGAS_SENSOR_INTERVAL_SECONDS"
DEFAULT_SENSOR_INTERVAL_SECONDS = 1


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


def market_clock_sensor(
    location: Location, jobs: Sequence["UnresolvedAssetJobDefinition"]
) -> dg.SensorDefinition:
    """The sensor of the location's calendar, launching `jobs` (the cycle and EOD jobs)."""

    @dg.sensor(
        name=MARKET_CLOCK_SENSOR,
        jobs=list(jobs),
        minimum_interval_seconds=sensor_interval_seconds(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Launches each planned cycle and EOD on the exchange clock, once.",
    )
    def tick(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        config = location.config
        now = clock.now()
        after = datetime.fromisoformat(context.cursor) if context.cursor else None
        plan = plan_tick(
            location.market,
            after,
            now,
            config.plan_settings,
            catchup_sessions=config.catchup_sessions,
            stale_after=timedelta(minutes=config.stale_after_minutes),
        )
        done = DonePartitions(context.instance, context.repository_def)
        requests = [part for r in plan.requests for part in done.outstanding(r)]
        if not requests:
            reason = plan.skip_reason or "everything owed has already run"
            return dg.SensorResult(skip_reason=reason, cursor=now.isoformat())
        runs = [run_request(r) for r in requests]
        return dg.SensorResult(run_requests=runs, cursor=now.isoformat())

    return tick


class DonePartitions:
    """Drop catch-up partitions someone already ran (a backfill, the UI, the CLI).

    Only late requests pay for this lookup (once per kind and tick); live ones are new by
    construction. A range that loses bars in its middle splits into the stretches around
    them: a range run covers every partition from its first key to its last.
    """

    def __init__(self, instance: dg.DagsterInstance, repository: dg.RepositoryDefinition) -> None:
        self._instance = instance
        self._repository = repository
        self._done: dict[str, set[str]] = {}

    def outstanding(self, request: TickRequest) -> list[TickRequest]:
        if not request.stale:
            return [request]
        if request.kind not in self._done:
            job = self._repository.get_job(JOB_OF_KIND[request.kind])
            self._done[request.kind] = done_partitions(self._instance, job)
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


def done_assets(job: dg.JobDefinition) -> list[dg.AssetKey]:
    """The assets whose materialisations say a partition of `job` is done: its sinks.

    Each asset materialises only after its upstream did, so the sinks together imply the
    rest; one sink alone does not: a cycle whose `alerts` failed after `notifications`
    succeeded has not done its work, and catch-up and `dgas backfill` must run it again.
    """
    layer = job.asset_layer
    selected = layer.selected_asset_keys
    upstream = {parent for key in selected for parent in layer.asset_graph.get(key).parent_keys}
    return sorted(selected - upstream, key=lambda key: key.to_user_string())


def done_partitions(instance: dg.DagsterInstance, job: dg.JobDefinition) -> set[str]:
    """Partitions of `job` whose every sink asset materialised (in any run, any launcher)."""
    done: set[str] | None = None
    for key in done_assets(job):
        materialised = instance.get_materialized_partitions(key)
        done = materialised if done is None else done & materialised
    return done or set()


def run_request(request: TickRequest) -> dg.RunRequest:
    tags = {LAUNCHED_BY_TAG: "sensor", STALE_TAG: str(request.stale).lower()}
    job = JOB_OF_KIND[request.kind]
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
        run_config=LOG_RUN_CONFIG,  # a range run gets no partition's default config
        tags={
            **tags,
            RANGE_START_TAG: request.partition_keys[0],
            RANGE_END_TAG: request.partition_keys[-1],
        },
    )
