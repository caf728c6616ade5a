"""Any run in the instance, however odd, leaves `dgas status` and the run mirror working.

Runs are planted in a real instance through Dagster's own API: unknown or malformed partition
keys, keys from before `partitions_start` or off the current interval (a config changed since
they ran), half or reversed ranges, unknown kinds and launchers, other jobs, worker tags this
code never wrote. What the mirror can map it writes FAILED; what it cannot it skips and names
(`dgas status` lists it); the run-status sensors, `run_worker_watch` and `dgas status` never
raise, and `dgas status` exits 0 after every case, in this process and as a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pytest

from dgas_pipeline.defs.automation.reconcile import (
    reconcile_finished_runs,
    run_mirror_cancellations,
    run_mirror_failures,
    run_worker_watch,
)
from dgas_pipeline.defs.automation.workers import identity_of
from dgas_pipeline.defs.names import WORKER_TAG
from dgas_pipeline.store import tables
from dgas_pipeline_tests.automation.conftest import QUIET, Deployment
from dgas_pipeline_tests.reliability.conftest import dgas_command

FAILURE, CANCELED = dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED
CYCLE, EOD, WATCHLIST = "prediction_cycle", "eod_job", "watchlist_job"
PARTITION = "dagster/partition"
START, END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


@dataclass(frozen=True)
class Odd:
    """A run to plant, and what the mirror must make of it: `rows` FAILED rows, or skipped
    with `reason` in its reason, or (neither) left alone as not ours."""

    job: str
    tags: dict[str, str]
    status: dg.DagsterRunStatus = FAILURE
    rows: int = 0
    reason: str = ""


ODD = [
    # single partition keys
    pytest.param(Odd(CYCLE, {PARTITION: "not-a-key"}, reason="not a cycle key"),
                 id="cycle-key-malformed"),
    pytest.param(Odd(CYCLE, {PARTITION: "2026-11-20-10:15"}, reason="not a planned bar"),
                 id="cycle-key-off-the-30min-grid"),
    pytest.param(Odd(CYCLE, {PARTITION: "2026-11-21-10:30"}, reason="not a planned bar"),
                 id="cycle-key-on-a-saturday"),
    pytest.param(Odd(CYCLE, {PARTITION: "1990-01-02-10:00"}, reason="outside the XNYS calendar"),
                 id="cycle-key-before-the-calendar"),
    pytest.param(Odd(CYCLE, {PARTITION: "2024-12-02-10:00"}, rows=1),
                 id="cycle-key-before-partitions-start-is-mirrored"),
    pytest.param(Odd(CYCLE, {PARTITION: "2026-11-20-10:30\x00"}, reason="not a cycle key"),
                 id="cycle-key-with-a-nul"),
    pytest.param(Odd(CYCLE, {PARTITION: "2" * 5000}, reason="longer than 128"),
                 id="cycle-key-5000-characters"),
    pytest.param(Odd(CYCLE, {PARTITION: ""}, reason="empty"), id="cycle-key-empty"),
    pytest.param(Odd(EOD, {PARTITION: "2026-11-21"}, reason="not a session"),
                 id="eod-key-on-a-saturday"),
    pytest.param(Odd(EOD, {PARTITION: "2026-11-20-10:30"}, reason="not a session date"),
                 id="eod-key-of-a-cycle"),
    pytest.param(Odd(EOD, {PARTITION: "2026-11-26"}, reason="not a session"),
                 id="eod-key-on-thanksgiving"),
    # ranges
    pytest.param(Odd(CYCLE, {START: "2024-12-02-09:30", END: "2024-12-02-15:30"}, rows=13),
                 id="cycle-range-before-partitions-start-is-mirrored"),
    pytest.param(Odd(CYCLE, {START: "2026-11-20-15:30", END: "2026-11-20-09:30"},
                     reason="empty partition range"), id="cycle-range-reversed"),
    pytest.param(Odd(CYCLE, {START: "2026-11-20-09:30"}, reason="half a partition range"),
                 id="cycle-range-without-an-end"),
    pytest.param(Odd(CYCLE, {START: "garbage", END: "2026-11-20-15:30"},
                     reason="not a cycle key"), id="cycle-range-garbage-start"),
    pytest.param(Odd(CYCLE, {START: "2026-11-20-09:45", END: "2026-11-20-15:30"},
                     reason="not a planned bar"), id="cycle-range-start-off-the-grid"),
    pytest.param(Odd(EOD, {START: "2026-11-16", END: "2026-11-20"}, rows=5),
                 id="eod-range-of-a-week-is-mirrored"),
    pytest.param(Odd(EOD, {START: "2026-11-16", END: "nope"}, reason="not a session date"),
                 id="eod-range-garbage-end"),
    # kinds, launchers, jobs
    pytest.param(Odd(CYCLE, {"dgas/kind": "bogus", PARTITION: "2026-11-20-10:30"}, rows=1),
                 id="unknown-kind-tag-falls-back-to-the-job"),
    pytest.param(Odd(CYCLE, {"dgas/kind": "eod", PARTITION: "2026-11-20-10:30"},
                     reason="not a session date"), id="kind-tag-contradicting-the-key"),
    pytest.param(Odd(CYCLE, {}, reason="names no partition"), id="no-tags-at-all"),
    pytest.param(Odd(CYCLE, {"dgas/launched_by": "x" * 100, PARTITION: "2026-11-20-10:30"},
                     reason="dgas/launched_by"), id="launcher-unknown-and-long"),
    pytest.param(Odd(CYCLE, {PARTITION: "2026-11-20-10:30"}, status=CANCELED, rows=1),
                 id="cancelled-run-is-mirrored"),
    pytest.param(Odd(WATCHLIST, {}, reason="names no partition"), id="watchlist-without-key"),
    pytest.param(Odd(WATCHLIST, {"dgas/watchlist_key": "core:not-a-date"},
                     reason="<name>:<YYYY-MM-DD>"), id="watchlist-key-without-date"),
    pytest.param(Odd(WATCHLIST, {"dgas/watchlist_key": "w" * 200 + ":2026-11-20"},
                     reason="longer than 128"), id="watchlist-key-too-long"),
    pytest.param(Odd(WATCHLIST, {"dgas/watchlist_key": "core:2026-11-20"}, rows=1),
                 id="watchlist-key-is-mirrored"),
    pytest.param(Odd("metrics_rollup_job", {PARTITION: "garbage"}), id="another-job-of-ours"),
    pytest.param(Odd("no_such_job", {PARTITION: "garbage", "dgas/kind": "cycle"}),
                 id="a-job-nobody-defines"),
]  # fmt: skip


def plant(env: Deployment, odd: Odd) -> dg.DagsterRun:
    """The run, created and ended through the instance API, as any launcher would."""
    run = env.instance.add_run(
        dg.DagsterRun(job_name=odd.job, run_id=str(uuid.uuid4()), tags=odd.tags)
    )
    if odd.status == CANCELED:
        env.instance.report_run_canceled(run)
    else:
        env.instance.report_run_failed(run)
    return env.instance.get_run_by_id(run.run_id)


def sense(env: Deployment, run: dg.DagsterRun) -> None:
    """What the daemon's run-status sensor does when it sees the run end."""
    ended = FAILURE if run.status == FAILURE else CANCELED
    event_type = (
        dg.DagsterEventType.RUN_FAILURE if ended == FAILURE else dg.DagsterEventType.RUN_CANCELED
    )
    (record,) = env.instance.get_records_for_run(run.run_id, of_type=event_type).records
    sensor = run_mirror_failures if ended == FAILURE else run_mirror_cancellations
    with dg.build_run_status_sensor_context(
        sensor_name="run_mirror_failures",
        dagster_instance=env.instance,
        dagster_run=run,
        dagster_event=record.event_log_entry.dagster_event,
        resources=env.sensor_resources,
    ) as context:
        sensor(context)


def rows_of(env: Deployment, run: dg.DagsterRun) -> list[dict[str, Any]]:
    return env.runs(tables.prediction_runs.c.dagster_run_id == run.run_id)


def status(env: Deployment) -> dict[str, Any]:
    code, result, err = env.dgas("status", "--json")
    assert (code, err) == (0, "")
    return result


@pytest.mark.parametrize("odd", ODD)
def test_an_odd_run_is_mirrored_or_skipped_by_the_sensor_and_status_never_raises(
    deployment: Deployment, odd: Odd
) -> None:
    env = deployment
    run = plant(env, odd)
    sense(env, run)
    rows = rows_of(env, run)
    assert [r["status"] for r in rows] == ["FAILED"] * odd.rows
    result = status(env)
    skipped = {s["run_id"]: s for s in result["skipped_runs"]}
    if odd.reason:
        assert odd.reason in skipped[run.run_id]["reason"]
        assert skipped[run.run_id]["job"] == odd.job
        assert rows == []
    else:
        assert run.run_id not in skipped
    assert rows_of(env, run) == rows  # the sensor mirrored it: status writes nothing again
    assert result["reconciled"] == 0
    # Text output too, with the skipped run named.
    code, text, err = env.dgas("status")
    assert (code, err) == (0, "")
    assert (run.run_id in text) == bool(odd.reason)


def test_status_mirrors_what_no_sensor_saw_and_skips_the_rest(deployment: Deployment) -> None:
    """Without a daemon, `dgas status` alone reconciles every planted run in one pass."""
    env = deployment
    planted = [(plant(env, p.values[0]), p.values[0]) for p in ODD]
    result = status(env)
    mirrored = [odd for _, odd in planted if odd.rows]
    assert result["reconciled"] == len(mirrored)
    assert {s["run_id"] for s in result["skipped_runs"]} == {
        run.run_id for run, odd in planted if odd.reason
    }
    for run, odd in planted:
        assert len(rows_of(env, run)) == odd.rows
    assert env.scheduler_state()["status"] == "ERROR"  # mirrored failures say so
    again = status(env)
    assert again["reconciled"] == 0 and len(again["skipped_runs"]) == len(result["skipped_runs"])


def test_dgas_status_as_a_subprocess_survives_every_odd_run(deployment: Deployment) -> None:
    env = deployment
    planted = [(plant(env, p.values[0]), p.values[0]) for p in ODD]
    env.close()  # the subprocess opens the instance on its own
    command = dgas_command()
    done = subprocess.run(
        [*command, "status", "--json"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert "Traceback" not in done.stderr
    assert (done.returncode, done.stderr) == (0, "")
    skipped = {s["run_id"] for s in json.loads(done.stdout)["skipped_runs"]}
    assert skipped == {run.run_id for run, odd in planted if odd.reason}


def test_a_failed_range_run_before_partitions_start_no_longer_breaks_status(
    deployment: Deployment,
) -> None:
    """What `dgas backfill --wait` before partitions_start used to leave behind (it is now
    refused before launching): a FAILED range run of keys the partitions do not have."""
    env = deployment
    result = env.defs.resolve_job_def(CYCLE).execute_in_process(
        instance=env.instance,
        run_config=QUIET,
        tags={START: "2024-12-02-09:30", END: "2024-12-02-15:30", "dgas/launched_by": "backfill"},
        raise_on_error=False,
    )
    assert not result.success
    assert env.instance.get_run_by_id(result.run_id).status == FAILURE
    answer = status(env)
    rows = env.runs(tables.prediction_runs.c.dagster_run_id == result.run_id)
    assert [r["partition_key"] for r in rows][:2] == ["2024-12-02-09:30", "2024-12-02-10:00"]
    assert {r["status"] for r in rows} == {"FAILED"} and len(rows) == 13
    assert answer["skipped_runs"] == []


def test_runs_from_before_a_config_change_are_mirrored_or_skipped(
    deployment: Deployment,
) -> None:
    """Runs of 15-minute bars from 2026-03-02 on; then the interval becomes 30 minutes and the
    partitions start later. A 10:30 key is still a bar, a 10:15 key no longer is."""
    env = deployment
    env.configure(interval="15min", partitions_start="2026-03-02")
    still = plant(env, Odd(CYCLE, {PARTITION: "2026-03-02-10:30"}))
    gone = plant(env, Odd(CYCLE, {PARTITION: "2026-03-02-10:15"}))
    ranged = plant(env, Odd(CYCLE, {START: "2026-03-02-09:30", END: "2026-03-02-09:45"}))
    env.configure(interval="30min", partitions_start="2026-06-01")
    result = status(env)
    assert result["reconciled"] == 1
    assert [r["partition_key"] for r in rows_of(env, still)] == ["2026-03-02-10:30"]
    reasons = {s["run_id"]: s["reason"] for s in result["skipped_runs"]}
    assert set(reasons) == {gone.run_id, ranged.run_id}
    assert "2026-03-02-10:15" in reasons[gone.run_id]
    assert "2026-03-02-09:45" in reasons[ranged.run_id]


# -- STARTED runs with worker tags this code never wrote ------------------------------------

WORKER_TAGS = [
    pytest.param(lambda me: {**me, "pid": 1e999}, id="pid-infinity"),
    pytest.param(lambda me: {**me, "pid": -1}, id="pid-negative"),
    pytest.param(lambda me: {**me, "pid": 0}, id="pid-zero"),
    pytest.param(lambda me: {**me, "pid": "abc"}, id="pid-text"),
    pytest.param(lambda me: {**me, "start_ticks": -5}, id="start-ticks-negative"),
    pytest.param(lambda me: [me], id="a-list"),
    pytest.param(lambda me: "[" * 100_000 + "]" * 100_000, id="nested-100000-deep"),
    pytest.param(lambda me: "not json", id="not-json"),
]


@pytest.mark.parametrize("odd_tag", WORKER_TAGS)
def test_a_started_run_with_an_odd_worker_tag_is_left_alone(
    deployment: Deployment, odd_tag: Any
) -> None:
    env = deployment
    run = env.instance.add_run(
        dg.DagsterRun(
            job_name=CYCLE, run_id=str(uuid.uuid4()), tags={PARTITION: "2026-11-20-10:30"}
        )
    )
    env.instance.report_dagster_event(
        dg.DagsterEvent(event_type_value=dg.DagsterEventType.RUN_START.value, job_name=CYCLE),
        run_id=run.run_id,
    )
    me = identity_of(run.run_id, os.getpid())
    assert me is not None
    value = odd_tag(json.loads(me.to_tag()))
    env.instance.add_run_tags(
        run.run_id, {WORKER_TAG: value if isinstance(value, str) else json.dumps(value)}
    )
    cursor = None
    for _ in range(2):  # a run is failed on its second sighting: give it two ticks
        with dg.build_sensor_context(
            instance=env.instance,
            cursor=cursor,
            resources=env.sensor_resources,
        ) as context:
            cursor = run_worker_watch.evaluate_tick(context).cursor
    assert reconcile_finished_runs(env.services, env.instance).skipped == []
    status(env)
    assert env.instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED
    assert rows_of(env, run) == []
