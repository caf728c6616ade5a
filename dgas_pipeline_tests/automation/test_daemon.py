"""End to end with real processes: `dagster-daemon` launches a cycle on the exchange clock.

The pipeline clock (`DGAS_CLOCK_OFFSET_SECONDS`) is set a little before 11:00 ET on Friday
2026-11-20, a past session, when the 10:30 bar's cycle falls due. The sensor's first tick has
no cursor and owes nothing; a later tick (every `DGAS_SENSOR_INTERVAL_SECONDS`) finds the
cycle due and requests it; the queued run coordinator launches it, a run worker executes it,
and the run mirrors itself. Most of the time goes to the run's step processes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from dgas_pipeline.store import tables
from dgas_pipeline.store.engine import dispose_engine, make_engine
from dgas_pipeline_tests.automation.conftest import REPO, et

DUE = et("2026-11-20 11:00")  # the 10:30 bar ends; no data delay by default
KEY = "2026-11-20-10:30"
LEAD_S = 25  # pipeline clock at daemon start: this long before DUE (covers code loading)
DEADLINE_S = 240  # a generous bound for a loaded machine; ~70 s is usual
DAEMON = Path(sys.executable).with_name("dagster-daemon")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An instance on disk before any process uses it (concurrent first use races on it)."""
    home = tmp_path.resolve() / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        instance.get_runs(limit=1)  # creates and migrates the storage
    (tmp_path / "dgas.yaml").write_text("{}\n", encoding="utf-8")  # the defaults
    return home


@pytest.fixture
def daemon(home: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DGAS_")}
    env |= {
        "DAGSTER_HOME": str(home),
        "DGAS_CONFIG": str(home.parent / "dgas.yaml"),
        "DGAS_SENSOR_INTERVAL_SECONDS": "5",
        "DGAS_CLOCK_OFFSET_SECONDS": str(DUE.timestamp() - LEAD_S - time.time()),
    }
    log = (home.parent / "daemon.log").open("wb")
    process = subprocess.Popen(
        [str(DAEMON), "run", "-w", str(REPO / "workspace.yaml")],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its code server and run workers share its process group
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever it left behind
        log.close()


def wait_for_finished_run(
    instance: dg.DagsterInstance, daemon: subprocess.Popen[bytes], log: Path
) -> dg.DagsterRun:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        assert daemon.poll() is None, log.read_text(errors="replace")[-4000:]
        runs = instance.get_runs()
        if runs and runs[0].is_finished:
            return runs[0]
        time.sleep(1)
    raise AssertionError(
        f"no finished run within {DEADLINE_S}s\n{log.read_text(errors='replace')[-4000:]}"
    )


def test_daemon_sensor_launches_the_due_cycle_through_the_queue_and_it_is_mirrored(
    home: Path, daemon: subprocess.Popen[bytes]
) -> None:
    log = home.parent / "daemon.log"
    with dg.DagsterInstance.get() as instance:
        run = wait_for_finished_run(instance, daemon, log)
        assert run.status == dg.DagsterRunStatus.SUCCESS, log.read_text(errors="replace")[-4000:]
        assert run.job_name == "prediction_cycle"
        assert {
            "dagster/sensor_name": "market_clock_sensor",
            "dagster/run_key": f"cycle:{KEY}",
            "dagster/partition": KEY,
            "dgas/launched_by": "sensor",
            "dgas/stale": "false",
            "dgas/concurrency": "pipeline",
        }.items() <= run.tags.items()
        queued = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.RUN_ENQUEUED
        ).records
        assert len(queued) == 1  # through the run queue, not launched directly
        assert len(instance.get_runs()) == 1  # one launch for one due cycle

    url = f"sqlite:///{home / 'dgas.db'}"
    try:
        with make_engine(url).connect() as conn:
            rows = [dict(r) for r in conn.execute(sa.select(tables.prediction_runs)).mappings()]
            state = dict(conn.execute(sa.select(tables.scheduler_state)).mappings().one())
    finally:
        dispose_engine(url)
    assert [
        (r["dagster_run_id"], r["partition_key"], r["kind"], r["status"], r["launched_by"])
        for r in rows
    ] == [(run.run_id, KEY, "cycle", "SUCCESS", "sensor")]
    assert state["status"] == "IDLE"

    daemon.terminate()
    assert daemon.wait(timeout=60) == 0  # a clean shutdown on SIGTERM
