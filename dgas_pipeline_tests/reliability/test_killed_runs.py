"""Runs SIGKILLed mid-cycle: found dead, failed, mirrored FAILED, and their rerun is the one
that counts, with one set of signals and each notification sent once.

The kill comes at a fixed point (`killpoint`): in the `notifications` step, right after the
run claimed its first channel's batch (a PENDING row per message committed, the channel's
delivery lock held) and before it sent it. The signals are stored by then; nothing is sent.
A real `dgas run-once` process, and a real run worker the daemon launched, are killed there.

The runs are the live cycle of a past session on a shifted pipeline clock (as in
test_concurrency.py), so their signals are really sent, to a loopback webhook and the console.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from dgas_pipeline.defs.automation import workers
from dgas_pipeline.defs.automation.workers import WorkerIdentity
from dgas_pipeline.defs.names import WORKER_TAG
from dgas_pipeline.market.bars import Bar
from dgas_pipeline.store import tables
from dgas_pipeline.store.engine import make_engine
from dgas_pipeline.store.schema import ensure_schema
from dgas_pipeline_tests.automation.conftest import REPO
from dgas_pipeline_tests.defs.conftest import busiest_bar, live_at
from dgas_pipeline_tests.deployment import instance_at
from dgas_pipeline_tests.processes import Site, child_pids, command_line, open_site
from dgas_pipeline_tests.reliability import killpoint
from dgas_pipeline_tests.reliability.conftest import (
    Hook,
    dgas_command,
    prepared_home,
    process_env,
    processes,
    wait_until,
)
from dgas_pipeline_tests.reliability.test_concurrency import CONSOLE_TITLE

PAUSE_DEADLINE_S = 240  # interpreter start-up and the cycle's first steps, on a loaded machine
RUN_DEADLINE_S = 240


@dataclass
class Tables:
    signals: list[dict[str, Any]]
    log: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    state: dict[str, Any]


def read_tables(db_url: str) -> Tables:
    with make_engine(db_url).connect() as conn:

        def rows(table: sa.Table) -> list[dict[str, Any]]:
            query = sa.select(table).order_by(*table.primary_key.columns)
            return [dict(r) for r in conn.execute(query).mappings()]

        return Tables(
            rows(tables.generated_signals),
            rows(tables.notification_log),
            rows(tables.prediction_runs),
            dict(conn.execute(sa.select(tables.scheduler_state)).mappings().one()),
        )


def signal_identities(rows: Any) -> Counter[tuple[str, str, datetime]]:
    return Counter((r["symbol"], r["signal_type"], r["signal_timestamp"]) for r in rows)


def expected_identities(expected: pd.DataFrame) -> Counter[tuple[str, str, datetime]]:
    return Counter(
        (r.symbol, r.signal_type, r.signal_timestamp.to_pydatetime()) for r in expected.itertuples()
    )


def notifying_config(path: Path, hook: Hook) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "notifications": {
                    # The webhook first: the batch claimed at the kill point is its.
                    "channels": [
                        {"name": "hook", "url": hook.url()},
                        {"name": "console", "url": "console"},
                    ],
                    "max_attempts": 2,
                    "backoff_base_seconds": 0,
                    "backoff_max_seconds": 0,
                }
            }
        ),
        encoding="utf-8",
    )
    return path


def frame_temporaries(home: Path) -> list[Path]:
    return sorted((home / "storage").rglob("*.tmp"))


def assert_left_by_the_kill(found: Tables, expected: pd.DataFrame, hook: Hook) -> None:
    """What a run killed at the kill point leaves: its signals (stored in the step before),
    the first channel's batch claimed but unsent, nothing sent."""
    assert signal_identities(found.signals) == expected_identities(expected)
    claimed = [(r["channel"], r["status"]) for r in found.log]
    assert claimed == [("hook", "PENDING")] * len(expected)
    assert hook.requests == []
    assert all(s["notification_sent"] is False for s in found.signals)


def assert_sent_once_each(found: Tables, expected: pd.DataFrame, hook: Hook, console: str) -> None:
    """One set of signals; each notified once per channel: in the log, on the wire, printed."""
    assert signal_identities(found.signals) == expected_identities(expected)
    assert sorted((r["channel"], r["status"]) for r in found.log) == sorted(
        [("hook", "SENT"), ("console", "SENT")] * len(expected)
    )
    sent = Counter(hook.message_keys())
    assert set(sent.values()) == {1}, sent
    assert set(sent) == {r["message_key"] for r in found.log}
    printed = Counter(line for line in console.splitlines() if CONSOLE_TITLE.match(line))
    assert len(printed) == len(expected) and set(printed.values()) == {1}, printed
    for row in found.signals:
        assert row["notification_sent"] is True
        assert sorted(row["notification_channels"]) == ["console", "hook"]


@pytest.fixture
def live_bar(session_signals: pd.DataFrame) -> tuple[Bar, pd.DataFrame]:
    bar = busiest_bar(session_signals)
    expected = session_signals[session_signals["partition_key"] == bar.key]
    assert len(expected) >= 2
    return bar, expected


def test_a_killed_run_once_is_found_dead_by_status_and_its_rerun_sends_each_signal_once(
    tmp_path: Path,
    db_url: str,
    hook: Hook,
    live_bar: tuple[Bar, pd.DataFrame],
    figures: Any,
) -> None:
    bar, expected = live_bar
    home = prepared_home(tmp_path)
    ensure_schema(db_url)
    config = notifying_config(tmp_path / "dgas.yaml", hook)
    env = process_env(
        DAGSTER_HOME=str(home),
        DGAS_CONFIG=str(config),
        DGAS_DATABASE_URL=db_url,
        DGAS_CLOCK_OFFSET_SECONDS=str(live_at(bar).timestamp() - time.time()),
    )
    armed_env = {**env, **killpoint.environment(tmp_path, REPO)}
    point = Path(armed_env[killpoint.DIR_ENV])
    run_once = [*dgas_command(), "run-once", "--at", live_at(bar, minutes=1).isoformat(), "--json"]

    def dgas(*argv: str, run_env: dict[str, str] = env) -> tuple[dict[str, Any], str]:
        done = subprocess.run(
            [*dgas_command(), *argv],
            cwd=tmp_path,
            env=run_env,
            capture_output=True,
            text=True,
            timeout=RUN_DEADLINE_S,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout), done.stderr

    with (
        instance_at(home) as instance,
        processes() as running,
    ):
        with (tmp_path / "killed.err").open("w") as stderr:
            killed = subprocess.Popen(
                run_once,
                cwd=tmp_path,
                env=armed_env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        running.append(killed)
        wait_until(
            lambda: killed.poll() is not None or killpoint.paused_pid(point) is not None,
            PAUSE_DEADLINE_S,
            "the run reached the kill point",
        )
        assert killpoint.paused_pid(point) == killed.pid, (tmp_path / "killed.err").read_text()
        (run,) = instance.get_runs()
        worker = WorkerIdentity.from_tag(run.tags[WORKER_TAG])
        assert worker is not None
        assert (worker.run_id, worker.pid, worker.host) == (
            run.run_id,
            killed.pid,
            socket.gethostname(),
        )
        before = read_tables(db_url)
        assert [(r["dagster_run_id"], r["status"]) for r in before.runs] == [
            (run.run_id, "RUNNING")
        ]
        assert before.state["status"] == "RUNNING"

        os.kill(killed.pid, signal.SIGKILL)
        killed.wait(timeout=30)
        killed_at = time.monotonic()
    assert killed.returncode == -signal.SIGKILL

    # Nobody recorded an end: Dagster still thinks it runs, our tables too.
    assert instance_status(home, run.run_id) == dg.DagsterRunStatus.STARTED
    left = read_tables(db_url)
    assert [r["status"] for r in left.runs] == ["RUNNING"]
    assert_left_by_the_kill(left, expected, hook)
    assert frame_temporaries(home) == []
    assert CONSOLE_TITLE.search((tmp_path / "killed.err").read_text()) is None

    # `dgas status`, no daemon: the worker is found dead, the run failed and mirrored.
    status, _ = dgas("status", "--json")
    seconds_to_failed = time.monotonic() - killed_at
    assert (status["dead_workers"], status["reconciled"]) == (1, 1)
    message = f"run worker pid {killed.pid} on host {socket.gethostname()} died (no exit recorded)"
    (row,) = [r for r in status["recent_runs"] if r["dagster_run_id"] == run.run_id]
    assert (row["partition_key"], row["status"], row["errors"]) == (bar.key, "FAILED", [message])
    assert (status["scheduler_state"]["status"], status["scheduler_state"]["error_message"]) == (
        "ERROR",
        message,
    )
    assert instance_status(home, run.run_id) == dg.DagsterRunStatus.FAILURE
    again, _ = dgas("status", "--json")
    assert (again["dead_workers"], again["reconciled"]) == (0, 0)  # once is enough

    # The rerun of the same partition: it sends the claimed batch and the console's, once.
    rerun, console = dgas(*run_once[len(dgas_command()) :])
    assert (rerun["partition_key"], rerun["status"], rerun["signals"]) == (
        bar.key,
        "SUCCESS",
        len(expected),
    )
    after = read_tables(db_url)
    assert_sent_once_each(after, expected, hook, console)
    assert sorted((r["dagster_run_id"], r["status"]) for r in after.runs) == sorted(
        [(run.run_id, "FAILED"), (rerun["run_id"], "SUCCESS")]
    )
    assert (after.state["status"], after.state["current_run_id"]) == ("IDLE", None)
    assert frame_temporaries(home) == []

    figures("seconds_kill_to_failed_mirrored", round(seconds_to_failed, 1))
    figures("runs_lost", 0 if rerun["status"] == "SUCCESS" else 1)
    figures("duplicate_signals", sum(signal_identities(after.signals).values()) - len(expected))
    keys = hook.message_keys()
    figures("duplicate_notifications", len(keys) - len(set(keys)))


def instance_status(home: Path, run_id: str) -> dg.DagsterRunStatus:
    """Read afresh (another process wrote it)."""
    with instance_at(home) as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None
        return run.status


# -- a daemon-launched run ------------------------------------------------------------------------


def victims(site: Site, killed: str, worker: int, stopped: int) -> list[int]:
    """What to SIGKILL, in order. The code server goes first: alive, it would notice its
    child die (its orphan check fails the run itself, within a second). With the
    multiprocess executor the kill point stops a step's process, a descendant of the worker:
    it is killed too (alive, it would hold the delivery lock for good)."""
    if killed == "worker":
        return [worker]
    # The worker's parent: the daemon's code server that launched the run (the daemon may
    # have more than one child that looks like a code server).
    code_server = workers.ancestors(worker)[0]
    assert code_server in child_pids(site.processes["daemon"].pid), command_line(code_server)
    assert "grpc" in command_line(code_server), command_line(code_server)
    return [code_server, worker, *([stopped] if stopped != worker else [])]


def assert_failed_by_worker_watch(
    site: Any, run_id: str, worker: WorkerIdentity, db_url: str
) -> None:
    """One failure, ours, mirrored on the run's row; the state out of RUNNING; no temp file."""
    failure = [
        r.event_log_entry.message
        for r in site.instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.RUN_FAILURE
        ).records
    ]
    ours = f"run worker pid {worker.pid} on host {socket.gethostname()} died (no exit recorded)"
    assert failure == [ours]
    found = read_tables(db_url)
    (row,) = [r for r in found.runs if r["dagster_run_id"] == run_id]
    assert (row["status"], row["errors"]) == ("FAILED", [ours])
    assert found.state["status"] != "RUNNING"
    assert frame_temporaries(site.home) == []


@pytest.mark.parametrize(
    ("killed", "executor"),
    [
        ("worker", "in_process"),
        ("code-server-and-worker", "in_process"),
        ("code-server-and-worker", "multiprocess"),
    ],
)
def test_a_killed_daemon_launched_run_is_failed_mirrored_and_retried_once(
    tmp_path: Path,
    killed: str,
    executor: str,
    hook: Hook,
    live_bar: tuple[Bar, pd.DataFrame],
    figures: Any,
) -> None:
    bar, expected = live_bar
    config = yaml.safe_load(notifying_config(tmp_path / "notify.yaml", hook).read_text())
    site_root = tmp_path / "site"
    with open_site(
        site_root,
        bar.end - timedelta(minutes=1),
        config={**config, "executor": {"kind": executor}},
        extra_env=killpoint.environment(tmp_path, REPO),
    ) as site:
        db_url = f"sqlite:///{site.home / 'dgas.db'}"
        point = Path(site.env[killpoint.DIR_ENV])
        site.start_daemon()
        site.wait_for_tick_at(bar.end - timedelta(minutes=1))
        site.set_clock(live_at(bar, minutes=1))

        stopped = site.wait_for(lambda: killpoint.paused_pid(point), "the run at the kill point")
        (run,) = site.runs()
        worker = WorkerIdentity.from_tag(site.instance.get_run_by_id(run.run_id).tags[WORKER_TAG])
        assert worker is not None and worker.run_id == run.run_id
        # The run's own process, also when the step that stopped has a process of its own.
        if executor == "in_process":
            assert worker.pid == stopped
        else:
            assert worker.pid != stopped and worker.pid in workers.ancestors(stopped)
        assert read_tables(db_url).state["status"] == "RUNNING"

        for victim in victims(site, killed, worker.pid, stopped):
            os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()

        def mirrored_failed() -> bool:
            rows = read_tables(db_url).runs
            return any(r["dagster_run_id"] == run.run_id and r["status"] == "FAILED" for r in rows)

        site.wait_for(mirrored_failed, "the killed run mirrored FAILED", deadline_s=RUN_DEADLINE_S)
        seconds_to_failed = time.monotonic() - killed_at
        failed = site.instance.get_run_by_id(run.run_id)
        assert failed is not None and failed.status == dg.DagsterRunStatus.FAILURE
        if killed != "worker":
            # Our part ends here: `run_worker_watch`, in the code server the daemon started
            # again, failed the run and mirrored it. Dagster's own retry of such a run is not
            # asserted: in one of our runs its EventLogConsumerDaemon tagged it
            # dagster/will_retry=true and never launched it (no error logged).
            assert_failed_by_worker_watch(site, run.run_id, worker, db_url)
            figures("seconds_kill_to_failed_mirrored", round(seconds_to_failed, 1))
            return

        def retried() -> dg.DagsterRun | None:
            runs = [r for r in site.runs() if r.run_id != run.run_id]
            return runs[0] if runs and runs[0].is_finished else None

        retry = site.wait_for(retried, "the retry finished", deadline_s=RUN_DEADLINE_S)
        runs = site.wait_until_idle()
        failure = [
            r.event_log_entry.message
            for r in site.instance.get_records_for_run(
                run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE
            ).records
        ]
        daemon_log = site.processes["daemon"].log_tail(10**7)
        retried_steps = {
            r.event_log_entry.step_key
            for r in site.instance.get_records_for_run(
                retry.run_id, of_type=dg.DagsterEventType.STEP_START
            ).records
        }

    # The retry is Dagster's own (run_retries), of the same partition, and the only other run;
    # it runs from the failure: the steps that had finished are not run again.
    assert "notifications" in retried_steps and not retried_steps & {"bars", "signals"}
    assert [r.run_id for r in runs] == [run.run_id, retry.run_id]
    assert retry.status == dg.DagsterRunStatus.SUCCESS, daemon_log[-4000:]
    assert (retry.tags["dagster/partition"], retry.tags["dagster/retry_number"]) == (bar.key, "1")
    assert retry.parent_run_id == run.run_id
    found = read_tables(db_url)
    (killed_row,) = [r for r in found.runs if r["dagster_run_id"] == run.run_id]
    # The code server saw its child die and failed the run itself, before our sensor.
    ours = f"run worker pid {worker.pid} on host {socket.gethostname()} died (no exit recorded)"
    assert len(failure) == 1 and failure[0] != ours, failure
    assert killed_row["status"] == "FAILED"
    assert sorted((r["dagster_run_id"], r["status"]) for r in found.runs) == sorted(
        [(run.run_id, "FAILED"), (retry.run_id, "SUCCESS")]
    )
    assert (found.state["status"], found.state["current_run_id"]) == ("IDLE", None)
    (retry_row,) = [r for r in found.runs if r["dagster_run_id"] == retry.run_id]
    assert retry_row["partition_key"] == bar.key
    # The retry ran only the steps from the failure on; its row carries its parent's counts.
    carried = ("symbols_requested", "symbols_processed", "signals_generated")
    assert [retry_row[c] for c in carried] == [killed_row[c] for c in carried], retry_row
    assert retry_row["signals_generated"] > 0
    assert_sent_once_each(found, expected, hook, daemon_log)
    assert frame_temporaries(site.home) == []

    figures("seconds_kill_to_failed_mirrored", round(seconds_to_failed, 1))
    figures("runs_lost", 0 if retry.status == dg.DagsterRunStatus.SUCCESS else 1)
    figures("duplicate_signals", sum(signal_identities(found.signals).values()) - len(expected))
    keys = hook.message_keys()
    figures("duplicate_notifications", len(keys) - len(set(keys)))
    figures("retry_row_signals_generated", retry_row["signals_generated"])
