"""Late launches as failed asset checks: `on_time` on `signals` (a cycle bar) and on
`eod_consolidation` (a session), per partition.

Dagster's cron-based freshness policies do not know the exchange calendar (holidays, early
closes, DST), so the planner decides what is due and `market.lateness` when it is overdue:
`lateness_sensor` reports, within a tick of a launch's due time + `late_grace_minutes`, one
evaluation per partition: failed, naming why ("due 15:32 ET, nothing by 15:37"), when its
asset has not materialised; passed ("materialised") when it has. Only one, because Dagster
1.13 stores a single run-less evaluation per check and partition (`judged_by_sensor`); a late
launch that runs later gets a materialisation the failed verdict does not target, so the
verdict is no longer current for the partition. Its cursor is the instant it looked up to.
`dgas status` lists the launches still late (`late_launches`). The check itself, run by
hand in the UI or by a run that materialises the partition (the jobs select it, and a
backfill from the UI takes the assets' checks along), answers the same question then.
"""

from datetime import datetime, timedelta

import dagster as dg
from dagster._core.event_api import PartitionKeyFilter

from dgas_pipeline import clock
from dgas_pipeline.defs.automation.sensors import sensor_interval_seconds
from dgas_pipeline.defs.names import LATENESS_SENSOR, ON_TIME_ASSET_OF_KIND, ON_TIME_CHECK
from dgas_pipeline.defs.runtime.resources import LocationParam
from dgas_pipeline.location import Location
from dgas_pipeline.market.lateness import became_overdue, is_late, launch_of, overdue_reason
from dgas_pipeline.market.planner import Launch

LATE_WINDOW = timedelta(days=7)
"""How far back the first tick looks, and how long a late launch stays listed: older ones
are for `dgas backfill`, not for the operator's morning glance."""


def grace_of(location: Location) -> timedelta:
    return timedelta(minutes=location.config.late_grace_minutes)


def on_time_checks(
    cycles: dg.PartitionsDefinition, sessions: dg.PartitionsDefinition
) -> list[dg.AssetChecksDefinition]:
    """`on_time` on each kind's asset, on that kind's partitions."""
    return [
        _on_time_check("cycle", cycles, "the cycle bar's signals materialised by due + grace"),
        _on_time_check("eod", sessions, "the session's EOD materialised by due + grace"),
    ]


def _on_time_check(
    kind: str, partitions: dg.PartitionsDefinition, description: str
) -> dg.AssetChecksDefinition:
    asset = ON_TIME_ASSET_OF_KIND[kind]

    @dg.asset_check(
        asset=asset,
        name=ON_TIME_CHECK,
        partitions_def=partitions,
        description=f"{description} (late_grace_minutes); reported by {LATENESS_SENSOR}",
    )
    def on_time(
        context: dg.AssetCheckExecutionContext, location: LocationParam
    ) -> dg.AssetCheckResult:
        materialised = context.instance.get_materialized_partitions(dg.AssetKey(asset))
        keys = context.partition_keys
        if len(keys) > 1:
            # A range run that also materialised the asset (the UI's "Materialize all" takes
            # its checks along): whether each partition is there now.
            missing = [key for key in keys if key not in materialised]
            text = f"{len(missing)} of {len(keys)} not materialised" if missing else "materialised"
            return dg.AssetCheckResult(passed=not missing, description=text)
        key = keys[0]
        launch = launch_of(location.market, kind, key, location.config.plan_settings)
        evaluation = judge(location, kind, key, launch, key in materialised, clock.now())
        return dg.AssetCheckResult(
            passed=evaluation.passed,
            description=evaluation.description,
            metadata=evaluation.metadata,
        )

    return on_time


def judge(
    location: Location,
    kind: str,
    key: str,
    launch: Launch | None,
    done: bool,
    now: datetime,
) -> dg.AssetCheckEvaluation:
    """The `on_time` evaluation of one partition at `now`."""
    grace = grace_of(location)
    metadata: dict[str, str] = {}
    if launch is None:
        passed, text = True, "no planned launch for this partition"
    else:
        reason = overdue_reason(location.market, launch, grace)
        metadata = {"due": launch.due.isoformat(), "deadline": (launch.due + grace).isoformat()}
        if done:
            passed, text = True, "materialised"
        elif is_late(launch.due, now, grace):
            passed, text = False, reason
        else:
            passed, text = True, "not due yet"
    return dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey(ON_TIME_ASSET_OF_KIND[kind]),
        check_name=ON_TIME_CHECK,
        passed=passed,
        description=text,
        metadata=metadata,
        partition=key,
    )


class Materialised:
    """The materialised partitions of each kind's asset, read once per kind and tick."""

    def __init__(self, instance: dg.DagsterInstance) -> None:
        self._instance = instance
        self._done: dict[str, set[str]] = {}

    def __call__(self, kind: str, key: str) -> bool:
        if kind not in self._done:
            asset = dg.AssetKey(ON_TIME_ASSET_OF_KIND[kind])
            self._done[kind] = self._instance.get_materialized_partitions(asset)
        return key in self._done[kind]


def judged_by_sensor(instance: dg.DagsterInstance, kind: str, key: str) -> bool:
    """Whether a run-less (sensor) evaluation of the partition is stored. Dagster 1.13 keeps
    one per (check, partition): its index is unique on (check, run id, partition), and a
    run-less evaluation's run id is empty, so a second one would fail to store."""
    check_key = dg.AssetCheckKey(dg.AssetKey(ON_TIME_ASSET_OF_KIND[kind]), ON_TIME_CHECK)
    history = instance.event_log_storage.get_asset_check_execution_history(
        check_key, limit=100, partition_filter=PartitionKeyFilter(key=key)
    )
    return any(not record.run_id for record in history)


def lateness_tick(
    location: Location, instance: dg.DagsterInstance, cursor: str | None, now: datetime
) -> tuple[list[dg.AssetCheckEvaluation], str]:
    """The evaluations owed at `now`, one per launch whose due + grace passed since the
    cursor's instant, and the next cursor (`now`)."""
    config = location.config
    upto = datetime.fromisoformat(cursor) if cursor else None
    # First tick, or a clock stepped back (tests): look back over the window from now.
    after = upto if upto is not None and upto <= now else now - LATE_WINDOW
    done = Materialised(instance)
    events = [
        judge(location, x.kind, x.partition_key, x, done(x.kind, x.partition_key), now)
        for x in became_overdue(
            location.market, after, now, config.plan_settings, grace_of(location),
            config.partitions_start,
        )
        if not judged_by_sensor(instance, x.kind, x.partition_key)
    ]  # fmt: skip
    return events, now.isoformat()


def lateness_sensor(location: Location) -> dg.SensorDefinition:
    """Reports the `on_time` checks as launches fall due + grace (see the module doc)."""

    @dg.sensor(
        name=LATENESS_SENSOR,
        minimum_interval_seconds=sensor_interval_seconds(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Fails the on_time check of a cycle bar or EOD not materialised by its "
        "due time + late_grace_minutes, on the exchange calendar.",
    )
    def tick(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        events, cursor = lateness_tick(location, context.instance, context.cursor, clock.now())
        if not events:
            return dg.SensorResult(skip_reason="no launch reached due + grace", cursor=cursor)
        return dg.SensorResult(asset_events=events, cursor=cursor)

    return tick


def late_launches(
    location: Location, instance: dg.DagsterInstance, now: datetime
) -> list[dict[str, str]]:
    """Launches of the last LATE_WINDOW past due + grace and still not materialised, newest
    first: what the sensor failed, until it runs (`dgas status`)."""
    config, market, grace = location.config, location.market, grace_of(location)
    done = Materialised(instance)
    overdue = became_overdue(
        market, now - LATE_WINDOW, now, config.plan_settings, grace, config.partitions_start
    )
    return [
        {
            "kind": launch.kind,
            "partition_key": launch.partition_key,
            "asset": ON_TIME_ASSET_OF_KIND[launch.kind],
            "due": launch.due.isoformat(),
            "reason": overdue_reason(market, launch, grace),
        }
        for launch in reversed(overdue)
        if not done(launch.kind, launch.partition_key)
    ]
