"""Dead-worker detection: when a recorded run worker counts as gone, and what the daemon's
`run_worker_watch` then does. Real processes (`sleep`), real /proc; the end-to-end kills are
in reliability/test_killed_runs.py."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import dagster as dg
import pytest

from dgas_pipeline.defs.automation import workers
from dgas_pipeline.defs.automation.reconcile import run_mirror_failures, run_worker_watch
from dgas_pipeline.defs.automation.workers import WorkerIdentity, identity_of, why_gone
from dgas_pipeline.defs.names import WORKER_TAG
from dgas_pipeline.defs.runtime.runs import is_mirrored
from dgas_pipeline_tests.automation.conftest import Deployment

KEY = "2026-11-20-10:30"
STATE_DEADLINE_S = 10


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(["sleep", "600"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def state_of(pid: int) -> str:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()[0]


def test_a_live_worker_is_not_gone() -> None:
    me = identity_of("r", os.getpid())
    assert me is not None and (me.host, me.pid) == (socket.gethostname(), os.getpid())
    assert why_gone(me) is None


def test_a_worker_that_exited_is_gone(sleeper: subprocess.Popen[bytes]) -> None:
    worker = identity_of("r", sleeper.pid)
    assert worker is not None
    sleeper.kill()
    sleeper.wait()
    assert why_gone(worker) == "died"


def test_a_killed_worker_its_parent_has_not_reaped_yet_is_gone(
    sleeper: subprocess.Popen[bytes],
) -> None:
    worker = identity_of("r", sleeper.pid)
    assert worker is not None
    os.kill(sleeper.pid, 9)  # no wait(): a zombie, its pid and start time still in /proc
    deadline = time.monotonic() + STATE_DEADLINE_S
    while state_of(sleeper.pid) != "Z":
        assert time.monotonic() < deadline, state_of(sleeper.pid)
        time.sleep(0.05)
    assert workers.process_start_ticks(sleeper.pid) == worker.start_ticks
    assert why_gone(worker) == "died"


def test_a_pid_now_held_by_another_process_is_not_the_worker() -> None:
    me = identity_of("r", os.getpid())
    assert me is not None
    recycled = replace(me, start_ticks=me.start_ticks - 1)
    assert why_gone(recycled) == "died (its pid now belongs to another process)"


def test_a_worker_from_before_a_reboot_is_gone() -> None:
    me = identity_of("r", os.getpid())
    assert me is not None and me.boot_id
    assert why_gone(replace(me, boot_id="another-boot")) == "died (host rebooted)"


def test_a_worker_on_another_host_is_left_to_run_monitoring(
    sleeper: subprocess.Popen[bytes],
) -> None:
    worker = identity_of("r", sleeper.pid)
    assert worker is not None
    sleeper.kill()
    sleeper.wait()
    assert why_gone(replace(worker, host=f"not-{socket.gethostname()}")) is None


WHOLE = '"run_id": "r", "host": "h", "boot_id": "b", "start_ticks": 5'


@pytest.mark.parametrize(
    "value",
    [
        "",
        "{",
        "[]",
        '{"pid": 1}',
        '{"run_id": "r", "host": "h"}',
        f'{{{WHOLE}, "pid": 1e999}}',  # infinity: no int
        f'{{{WHOLE}, "pid": 0}}',
        f'{{{WHOLE}, "pid": -1}}',  # kill(-1) would mean every process
        f'{{{WHOLE}, "pid": "x"}}',
        f'{{{WHOLE}, "pid": 7, "start_ticks": -1}}'.replace('"start_ticks": 5, ', ""),
        "[" * 100_000 + "]" * 100_000,
        '"just a string"',
    ],
    ids=lambda v: v[:40],
)
def test_a_tag_this_code_did_not_write_is_not_checked(value: str) -> None:
    assert WorkerIdentity.from_tag(value) is None


def test_a_tag_this_code_wrote_is_read_back() -> None:
    worker = WorkerIdentity("r", "h", "b", 7, 5)
    assert WorkerIdentity.from_tag(worker.to_tag()) == worker
    assert WorkerIdentity.from_tag(f'{{{WHOLE}, "pid": 7}}') == worker


def started_run(env: Deployment, job_name: str, worker_of: str | None, pid: int) -> dg.DagsterRun:
    """A STARTED run of `job_name` whose tag names process `pid` as the worker of run
    `worker_of` (None: of itself)."""
    job = env.defs.resolve_job_def(job_name)
    tags = {**job.tags, "dgas/launched_by": "sensor"}
    if job.partitions_def is not None:
        tags["dagster/partition"] = KEY
    run = env.instance.add_run(
        dg.DagsterRun(job_name=job_name, run_id=str(uuid.uuid4()), tags=tags)
    )
    env.instance.report_dagster_event(
        dg.DagsterEvent(event_type_value=dg.DagsterEventType.RUN_START.value, job_name=job_name),
        run_id=run.run_id,
    )
    worker = identity_of(worker_of or run.run_id, os.getpid())
    assert worker is not None
    env.instance.add_run_tags(run.run_id, {WORKER_TAG: replace(worker, pid=pid).to_tag()})
    return run


def test_the_watch_fails_a_run_whose_worker_died_on_its_second_sighting_only(
    deployment: Deployment, sleeper: subprocess.Popen[bytes]
) -> None:
    env = deployment
    dead_pid = sleeper.pid
    sleeper.kill()
    sleeper.wait()
    dead = started_run(env, "prediction_cycle", None, dead_pid)
    # Left alone: a live worker, a retry still carrying its parent's worker, another job.
    alive = started_run(env, "prediction_cycle", None, os.getpid())
    retry = started_run(env, "prediction_cycle", "its-parent-run", dead_pid)
    other_job = started_run(env, "metrics_rollup_job", None, dead_pid)
    assert [d.run_id for d in workers.find_dead_workers(env.instance, is_mirrored)] == [dead.run_id]

    statuses = []
    cursor = None
    for _ in range(2):
        with dg.build_sensor_context(
            instance=env.instance, cursor=cursor, resources=env.sensor_resources
        ) as context:
            cursor = run_worker_watch.evaluate_tick(context).cursor
        statuses.append(env.instance.get_run_by_id(dead.run_id).status)
    assert statuses == [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.FAILURE]

    message = f"run worker pid {dead_pid} on host {socket.gethostname()} died (no exit recorded)"
    (failure,) = env.instance.get_records_for_run(
        dead.run_id, of_type=dg.DagsterEventType.RUN_FAILURE
    ).records
    assert failure.event_log_entry.message == message
    (row,) = env.runs()
    assert (row["dagster_run_id"], row["partition_key"], row["status"], row["errors"]) == (
        dead.run_id,
        KEY,
        "FAILED",
        [message],
    )
    state = env.scheduler_state()
    assert (state["status"], state["error_message"]) == ("ERROR", message)
    # The run-status sensor, seeing the failure later, finds it mirrored and writes nothing.
    with dg.build_run_status_sensor_context(
        sensor_name="run_mirror_failures",
        dagster_instance=env.instance,
        dagster_run=env.instance.get_run_by_id(dead.run_id),
        dagster_event=failure.event_log_entry.dagster_event,
        resources=env.sensor_resources,
    ) as context:
        run_mirror_failures(context)
    assert env.runs() == [row]
    assert env.scheduler_state() == state
    for untouched in (alive, retry, other_job):
        assert env.instance.get_run_by_id(untouched.run_id).status == dg.DagsterRunStatus.STARTED
