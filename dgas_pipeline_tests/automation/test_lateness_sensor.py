"""Late launches as failed `on_time` checks, and in `dgas status`, at fixed instants.

Friday 2026-11-27 closes early at 13:00 ET: seven bars (09:30..12:30) and the EOD due 13:20.
The default grace is 5 minutes; the default data delay 0, so the 11:00 bar (ends 11:30) is
due 11:30 and late after 11:35.
"""

from __future__ import annotations

from datetime import datetime

import dagster as dg
import time_machine
from dagster._core.event_api import PartitionKeyFilter
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from dgas_pipeline_tests.automation.conftest import Deployment, et

DAY = "2026-11-27"
SIGNALS_ON_TIME = dg.AssetCheckKey(dg.AssetKey("signals"), "on_time")
EOD_ON_TIME = dg.AssetCheckKey(dg.AssetKey("eod_consolidation"), "on_time")


def tick(env: Deployment, cursor: str | None, now: datetime) -> tuple[list, str]:
    """One tick of the lateness sensor at `now`; its events are stored as the daemon does."""
    with time_machine.travel(now, tick=False):
        context = dg.build_sensor_context(
            instance=env.instance, cursor=cursor, definitions=env.defs
        )
        data = env.defs.resolve_sensor_def("lateness_sensor").evaluate_tick(context)
    for event in data.asset_events:
        env.instance.report_runless_asset_event(event)
    assert data.cursor is not None
    return list(data.asset_events), data.cursor


def latest(env: Deployment, key: dg.AssetCheckKey, partition: str) -> tuple[str, str | None]:
    """The partition's latest `on_time` verdict as the UI reads it: status, description."""
    records = env.instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [key], partition_filter=PartitionKeyFilter(key=partition)
    )
    record = records[key]
    evaluation = record.event.asset_check_evaluation if record.event else None
    return record.status.value, evaluation.description if evaluation else None


def test_a_bar_not_run_by_due_plus_grace_fails_its_check_then_recovers(
    deployment: Deployment,
) -> None:
    env = deployment
    # The 10:30 bar ran on time; the 11:00 bar did not run.
    with time_machine.travel(et(f"{DAY} 11:02"), tick=True):
        assert env.dgas("run-once", "--at", f"{DAY}T11:02-05:00")[0] == 0
    start = et(f"{DAY} 11:00").isoformat()
    events, cursor = tick(env, start, et(f"{DAY} 11:35"))
    assert [(e.partition, e.passed) for e in events] == [(f"{DAY}-10:30", True)]
    assert latest(env, SIGNALS_ON_TIME, f"{DAY}-10:30") == (
        AssetCheckExecutionRecordStatus.SUCCEEDED.value,
        "materialised",
    )
    # Exactly the grace after due: still on time; a second later: late, within the tick.
    assert tick(env, cursor, et(f"{DAY} 11:35"))[0] == []
    events, cursor = tick(env, cursor, et(f"{DAY} 11:35:01"))
    assert [(e.partition, e.passed, e.description) for e in events] == [
        (f"{DAY}-11:00", False, "due 11:30 ET, nothing by 11:35")
    ]
    assert latest(env, SIGNALS_ON_TIME, f"{DAY}-11:00") == (
        AssetCheckExecutionRecordStatus.FAILED.value,
        "due 11:30 ET, nothing by 11:35",
    )
    with time_machine.travel(et(f"{DAY} 11:36"), tick=False):
        code, status, _ = env.dgas("status", "--json")
        assert code == 0
        late = [(x["kind"], x["partition_key"], x["reason"]) for x in status["late"]]
        assert late[0] == ("cycle", f"{DAY}-11:00", "due 11:30 ET, nothing by 11:35")
        code, text, _ = env.dgas("status")
        assert f"            cycle {DAY}-11:00: due 11:30 ET, nothing by 11:35" in text

    # Judged once: a tick that looks back over it (a reset cursor) reports nothing again.
    assert tick(env, start, et(f"{DAY} 11:36"))[0] == []

    # It runs late: status drops it, and its run's own evaluation is the partition's latest.
    with time_machine.travel(et(f"{DAY} 11:40"), tick=True):
        assert env.dgas("run-once", "--at", f"{DAY}T11:31-05:00")[0] == 0
    assert tick(env, cursor, et(f"{DAY} 11:41"))[0] == []
    with time_machine.travel(et(f"{DAY} 11:41"), tick=False):
        status = env.dgas("status", "--json")[1]
    assert f"{DAY}-11:00" not in {x["partition_key"] for x in status["late"]}
    assert latest(env, SIGNALS_ON_TIME, f"{DAY}-11:00") == (
        AssetCheckExecutionRecordStatus.SUCCEEDED.value,
        "materialised",
    )


def test_the_early_close_eod_fails_at_13_25_and_thanksgiving_never(
    deployment: Deployment,
) -> None:
    env = deployment
    cursor = et(f"{DAY} 13:06").isoformat()  # after the last bar (due 13:00) turned late
    events, cursor = tick(env, cursor, et(f"{DAY} 13:25"))
    assert events == []
    events, cursor = tick(env, cursor, et(f"{DAY} 13:25:30"))
    assert [(e.asset_key, e.partition, e.passed, e.description) for e in events] == [
        (dg.AssetKey("eod_consolidation"), DAY, False, "due 13:20 ET, nothing by 13:25")
    ]
    assert latest(env, EOD_ON_TIME, DAY)[0] == AssetCheckExecutionRecordStatus.FAILED.value
    # Thanksgiving Thursday, from Wednesday night to Friday 09:59: nothing falls due.
    cursor = et("2026-11-25 16:26").isoformat()
    assert tick(env, cursor, et(f"{DAY} 09:59"))[0] == []


def test_nothing_before_partitions_start_is_judged(deployment: Deployment) -> None:
    env = deployment
    env.configure(partitions_start=DAY)
    # From Wednesday morning to Friday 10:06: only Friday's first bar (due 10:00) fell late.
    cursor = et("2026-11-25 09:00").isoformat()
    events, _ = tick(env, cursor, et(f"{DAY} 10:06"))
    assert [(e.partition, e.passed) for e in events] == [(f"{DAY}-09:30", False)]


def test_the_jobs_run_the_on_time_checks_too(deployment: Deployment) -> None:
    # A run that materialises a partition says so; a backfill from the UI, which takes the
    # assets' checks along, runs them in the job.
    for job, key in (("prediction_cycle", SIGNALS_ON_TIME), ("eod_job", EOD_ON_TIME)):
        checks = deployment.defs.resolve_job_def(job).asset_layer.asset_graph.asset_check_keys
        assert key in checks
