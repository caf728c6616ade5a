"""The run mirror for runs that cannot write their own end: killed, crashed, failed steps.

A killed run never reaches its failure hook; `dgas status` (or `run_worker_watch` with a
daemon) finds its recorded worker dead, fails it in Dagster and reconciles our tables.
The bar is 2026-11-20 10:30 (`--at 11:05`), a past session: no time travel for subprocesses.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import yaml

from dgas_pipeline import analysis
from dgas_pipeline.store import tables
from dgas_pipeline_tests.automation.conftest import Deployment

AT = "2026-11-20T11:05-05:00"
KEY = "2026-11-20-10:30"
DGAS = Path(sys.executable).with_name("dgas")
START_DEADLINE_S = 60


@pytest.fixture
def silent_listener() -> Iterator[socket.socket]:
    """A loopback port that accepts connections into its backlog and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield sock
    finally:
        sock.close()


def blocking_config(path: Path, port: int) -> Path:
    """A provider chain whose only provider waits on a server that never answers."""
    settings = {
        "symbols": ["AAPL"],
        "provider": {
            "chain": ["polygon"],
            "polygon_base_url": f"http://127.0.0.1:{port}",
            "request_timeout_seconds": 120,
            "max_retries": 0,
        },
    }
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


def wait_for_running_row(env: Deployment, process: subprocess.Popen[str]) -> dg.DagsterRun:
    """The run once it started and mirrored itself RUNNING (it then blocks in the provider)."""
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        runs = env.instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        if runs and env.runs(tables.prediction_runs.c.status == "RUNNING"):
            return runs[0]
        time.sleep(0.2)
    raise AssertionError(f"no RUNNING cycle within {START_DEADLINE_S}s")


def test_a_killed_run_is_reconciled_failed_and_its_rerun_succeeds(
    deployment_on_each_db: Deployment,
    silent_listener: socket.socket,
    tmp_path: Path,
) -> None:
    env = deployment_on_each_db
    config = blocking_config(tmp_path / "blocking.yaml", silent_listener.getsockname()[1])
    command = [str(DGAS)] if DGAS.exists() else [sys.executable, "-m", "dgas_pipeline.cli"]
    process = subprocess.Popen(
        [*command, "run-once", "--at", AT, "--json"],
        cwd=tmp_path,
        env={**os.environ, "DGAS_CONFIG": str(config), "POLYGON_API_KEY": "test-key"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        run = wait_for_running_row(env, process)
        assert env.scheduler_state()["status"] == "RUNNING"
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert [r["status"] for r in env.runs()] == ["RUNNING"]  # nobody wrote its end
    # Nor Dagster: no launcher watches a `dgas run-once` worker.
    assert env.instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED

    # `dgas status` finds the recorded worker gone, fails the run and mirrors it.
    code, status, err = env.dgas("status", "--json")
    assert (code, err) == (0, "")
    assert (status["dead_workers"], status["reconciled"]) == (1, 1)
    assert status["scheduler_state"]["status"] == "ERROR"
    assert env.instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
    (killed,) = [r for r in status["recent_runs"] if r["dagster_run_id"] == run.run_id]
    assert (killed["partition_key"], killed["status"], killed["launched_by"]) == (
        KEY,
        "FAILED",
        "cli",
    )
    assert killed["errors"] == [
        f"run worker pid {process.pid} on host {socket.gethostname()} died (no exit recorded)"
    ]
    assert env.dgas("status", "--json")[1]["reconciled"] == 0  # once is enough

    # The same partition again, with a provider that answers.
    env.configure()
    code, rerun, _ = env.dgas("run-once", "--at", AT, "--json")
    assert (code, rerun["partition_key"], rerun["status"]) == (0, KEY, "SUCCESS")
    rows = env.runs(tables.prediction_runs.c.partition_key == KEY)
    assert sorted((r["dagster_run_id"], r["status"]) for r in rows) == sorted(
        [(run.run_id, "FAILED"), (rerun["run_id"], "SUCCESS")]
    )
    state = env.scheduler_state()
    assert (state["status"], state["current_run_id"], state["error_message"]) == (
        "IDLE",
        None,
        None,
    )


def test_a_step_that_raises_is_mirrored_failed_by_the_failure_hook(
    deployment_on_each_db: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = deployment_on_each_db

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("indicator engine exploded\nsecond line stays out")

    monkeypatch.setattr(analysis, "compute_indicators", boom)
    code, result, _ = env.dgas("run-once", "--at", AT, "--json")
    assert (code, result["status"], result["dagster_success"]) == (1, "FAILED", False)

    (row,) = env.runs()
    message = "indicators: RuntimeError: indicator engine exploded"
    assert (row["partition_key"], row["status"], row["errors"]) == (KEY, "FAILED", [message])
    state = env.scheduler_state()
    assert (state["status"], state["error_message"], state["current_run_id"]) == (
        "ERROR",
        message,
        None,
    )
    # Nothing left for the reconciler: the hook already wrote the end.
    assert env.dgas("status", "--json")[1]["reconciled"] == 0


def test_the_run_status_sensor_mirrors_a_run_that_failed_without_its_hook(
    deployment: Deployment,
) -> None:
    job = deployment.defs.resolve_job_def("prediction_cycle")
    run = deployment.instance.create_run_for_job(
        job_def=job, tags={**job.tags, "dagster/partition": KEY, "dgas/launched_by": "sensor"}
    )
    deployment.instance.report_run_failed(run, message="run worker crashed\ntraceback...")
    (record,) = deployment.instance.get_records_for_run(run.run_id).records[-1:]
    event = record.event_log_entry.dagster_event
    assert event is not None and event.event_type == dg.DagsterEventType.RUN_FAILURE

    run_mirror_failures = deployment.defs.resolve_sensor_def("run_mirror_failures")
    with dg.build_run_status_sensor_context(
        sensor_name="run_mirror_failures",
        dagster_instance=deployment.instance,
        dagster_run=deployment.instance.get_run_by_id(run.run_id),
        dagster_event=event,
        resources=deployment.sensor_resources,
    ) as context:
        run_mirror_failures(context)

    (row,) = deployment.runs()
    assert (row["dagster_run_id"], row["partition_key"], row["status"], row["launched_by"]) == (
        run.run_id,
        KEY,
        "FAILED",
        "sensor",
    )
    assert row["errors"] == ["run worker crashed"]
    assert deployment.scheduler_state()["status"] == "ERROR"
