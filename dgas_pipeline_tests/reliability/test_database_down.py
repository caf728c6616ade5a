"""The database goes down in the middle of a cycle: the run fails clean, nothing is
half-written, and after a restart the next cycle succeeds and the missed one is caught up.

A PostgreSQL cluster of the test's own (`pg_cluster`) holds our tables. The cycle of the
session's busiest bar stops it with `pg_ctl stop -m fast` at one of two points: while its
signals transaction is open (after the first signal's INSERT, before the next: the server
drops the connection and the transaction with it), or once the signals are committed, as
the notifications step starts (nothing sent yet; the step's retries find the server down
too). The same long-lived process then carries on, as a code server or a daemon would,
against the restarted server: `dgas status` reconciles the failed run, the next bar's live
cycle runs, and `dgas backfill --wait` runs the missed bar, which must then notify each of
its signals once, whether the failed run had stored them or not.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import time_machine

from dgas_pipeline.cycle import notifications
from dgas_pipeline.store import repositories, tables
from dgas_pipeline_tests.automation.conftest import Deployment
from dgas_pipeline_tests.defs.conftest import (
    SESSION,
    busiest_bar,
    channels,
    live_at,
    session_bars,
)
from dgas_pipeline_tests.reliability.conftest import Hook, PgCluster, deployment_on


@pytest.fixture
def on_own_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_cluster: PgCluster
) -> Iterator[Deployment]:
    with deployment_on(tmp_path, monkeypatch, pg_cluster.url()) as env:
        yield env


def run_once(env: Deployment, at: Any) -> tuple[int, dict[str, Any], str]:
    with time_machine.travel(at, tick=True):
        return env.dgas("run-once", "--at", at.isoformat(), "--json")


def backfill(env: Deployment, at: Any) -> tuple[int, dict[str, Any], str]:
    day = SESSION.isoformat()
    with time_machine.travel(at, tick=True):
        return env.dgas("backfill", "--start", day, "--end", day, "--wait", "--json")


def lose_the_server_while_writing_signals(
    monkeypatch: pytest.MonkeyPatch, cluster: PgCluster, stopped: list[float]
) -> None:
    """Stop the server inside the signals transaction, after its first INSERT."""
    real = repositories.upsert_signals

    def upsert_then_stop(conn: Any, rows: Any) -> list[int]:
        rows = list(rows)
        ids = real(conn, rows[:1])  # written inside the open transaction
        cluster.stop("fast")
        stopped.append(time.monotonic())
        return ids + real(conn, rows[1:])

    monkeypatch.setattr(repositories, "upsert_signals", upsert_then_stop)


def lose_the_server_before_notifying(
    monkeypatch: pytest.MonkeyPatch, cluster: PgCluster, stopped: list[float]
) -> None:
    """Stop the server once the signals are committed, as the notifications step starts
    (its retries then find it down too)."""
    real = notifications.deliver

    def stop_then_deliver(*args: Any, **kwargs: Any) -> Any:
        if not stopped:
            cluster.stop("fast")
            stopped.append(time.monotonic())
        return real(*args, **kwargs)

    monkeypatch.setattr(notifications, "deliver", stop_then_deliver)


@pytest.mark.parametrize(
    "stop",
    [
        pytest.param(lose_the_server_while_writing_signals, id="mid-signals-transaction"),
        pytest.param(lose_the_server_before_notifying, id="signals-stored-none-sent"),
    ],
)
def test_database_stopped_mid_cycle_fails_clean_and_recovers_with_the_missed_bar_caught_up(
    on_own_cluster: Deployment,
    pg_cluster: PgCluster,
    hook: Hook,
    session_signals: pd.DataFrame,
    stop: Any,
    figures: Any,
) -> None:
    env = on_own_cluster
    bars = session_bars(SESSION)
    missed = busiest_bar(session_signals)
    at = bars.index(missed)
    assert 0 < at < len(bars) - 1
    before, after = bars[at - 1], bars[at + 1]
    expected = session_signals[session_signals["partition_key"].isin([before.key, missed.key])]
    expected_after = session_signals[session_signals["partition_key"] == after.key]
    n_missed = int((session_signals["partition_key"] == missed.key).sum())
    assert n_missed >= 2  # the stop falls between two INSERTs of one transaction
    env.configure(notifications=channels(hook))

    code, first, _ = run_once(env, live_at(before))
    assert (code, first["partition_key"], first["status"]) == (0, before.key, "SUCCESS")

    # -- the cycle of `missed` loses its database -----------------------------------------
    stopped: list[float] = []
    with pytest.MonkeyPatch.context() as patch:
        stop(patch, pg_cluster, stopped)
        code, failed, err = run_once(env, live_at(missed))
    assert stopped, "the cycle never reached the point where the server stops"
    assert code == 1, err
    assert (failed["partition_key"], failed["status"], failed["dagster_success"]) == (
        missed.key,
        "FAILED",
        False,
    )
    assert "Traceback" not in err
    assert any(e.startswith("run record unreadable: OperationalError") for e in failed["errors"])
    run = env.instance.get_run_by_id(failed["run_id"])
    assert run is not None and run.status == dg.DagsterRunStatus.FAILURE
    assert len(hook.requests) == 0  # nothing was sent for the failed bar

    # -- restart: nothing of the failed run is left but its FAILED mirror row ---------------
    pg_cluster.start()
    restarted = time.monotonic()
    # Signals are written in one transaction: all of the bar's, or (stopped inside it) none.
    stored_missed = len(env.rows(tables.generated_signals, *_of(missed)))
    assert stored_missed == (0 if stop is lose_the_server_while_writing_signals else n_missed)
    assert env.rows(tables.notification_log) == []
    code, status, err = env.dgas("status", "--json")
    assert (code, err) == (0, "")
    mirrored = {(r["partition_key"], r["status"]) for r in env.runs()}
    assert (missed.key, "FAILED") in mirrored and (missed.key, "RUNNING") not in mirrored
    assert status["scheduler_state"]["status"] == "ERROR"

    # -- the next bar's live cycle succeeds on the restarted server --------------------------
    code, nxt, err = run_once(env, live_at(after))
    recovered = time.monotonic()
    assert (code, nxt["partition_key"], nxt["status"]) == (0, after.key, "SUCCESS"), err
    assert nxt["signals"] == len(expected_after)
    assert env.scheduler_state()["status"] == "IDLE"

    # -- the missed bar is caught up, once ----------------------------------------------------
    code, caught, err = backfill(env, live_at(after, minutes=3))
    caught_up = time.monotonic()
    assert (code, caught["launched"], caught["failed_runs"]) == (0, 1, 0), err
    assert [r["partitions"] for r in caught["runs"]] == [[missed.key]]
    code, again, _ = backfill(env, live_at(after, minutes=4))
    assert (code, again["launched"], again["skipped_done"]) == (0, 0, 3)

    # Every bar up to `after` has exactly one successful run; the failed one stays FAILED.
    by_bar = Counter((r["partition_key"], r["status"]) for r in env.runs())
    for bar in (before, missed, after):
        assert by_bar[(bar.key, "SUCCESS")] == 1, by_bar
    assert by_bar[(missed.key, "FAILED")] == 1
    # One set of signals, each notified once per channel.
    stored = Counter(
        (s["symbol"], s["signal_type"], s["signal_timestamp"])
        for s in env.rows(tables.generated_signals)
    )
    wanted = pd.concat([expected, expected_after])
    assert stored == Counter(
        (r.symbol, r.signal_type, r.signal_timestamp.to_pydatetime()) for r in wanted.itertuples()
    )
    log = env.rows(tables.notification_log)
    assert Counter((r["channel"], r["status"]) for r in log) == Counter(
        {("console", "SENT"): len(wanted), ("hook", "SENT"): len(wanted)}
    )
    sent = Counter(hook.message_keys())
    assert len(sent) == len(wanted) and set(sent.values()) == {1}
    assert env.scheduler_state()["status"] == "IDLE"

    figures("runs_lost", sum(by_bar[(b.key, "SUCCESS")] == 0 for b in (before, missed, after)))
    figures("duplicate_signals", sum(stored.values()) - len(stored))
    figures("duplicate_notifications", sum(sent.values()) - len(sent))
    figures("seconds_restart_to_next_cycle_success", round(recovered - restarted, 1))
    figures("seconds_restart_to_missed_bar_caught_up", round(caught_up - restarted, 1))


def _of(bar: Any) -> list[Any]:
    return [tables.generated_signals.c.partition_key == bar.key]
