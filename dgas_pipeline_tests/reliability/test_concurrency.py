"""Two `dgas run-once` of the same bar at the same instant, as two real processes sharing one
DAGSTER_HOME and one database (SQLite and PostgreSQL): one set of signals, one notification
per channel and signal.

The worst interleaving is forced, not left to timing. Both processes wait for each other in
their `signals` step after reading the stored signals (`barrier_dgas`), so both find the
bar's signals new and both go on to notify them; and the webhook holds its first answer
until both runs have entered their `notifications` step (read from Dagster's event log) and
a moment more, so the second run reaches that message while the first is still sending it.

The processes run a past session on a shifted pipeline clock (`DGAS_CLOCK_OFFSET_SECONDS`,
as the daemon end-to-end test does), so the bar is live rather than a catch-up and its
signals are really sent.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from dgas_pipeline.defs.runtime import io_manager
from dgas_pipeline.store import tables
from dgas_pipeline.store.engine import make_engine
from dgas_pipeline.store.schema import ensure_schema
from dgas_pipeline_tests.automation.conftest import REPO
from dgas_pipeline_tests.defs.conftest import busiest_bar, live_at
from dgas_pipeline_tests.deployment import instance_at
from dgas_pipeline_tests.reliability.conftest import (
    Hook,
    prepared_home,
    process_env,
    processes,
)

BARRIER_DGAS = "dgas_pipeline_tests.reliability.barrier_dgas"
RUN_DEADLINE_S = 240
BARRIER_TIMEOUT_S = 90
CONSOLE_TITLE = re.compile(r"^(LONG|SHORT|EXIT_LONG|EXIT_SHORT) \S+ @ [0-9.]+ \(")
GRACE_S = 1.5  # after both runs entered `notifications`: the second one reaches its claim


def both_in_notifications(instance: dg.DagsterInstance, partition: str) -> Any:
    """A condition: two runs of `partition` have started their `notifications` step, and
    `GRACE_S` has passed since the second did."""
    entered: dict[str, float] = {}

    def check() -> bool:
        for run in instance.get_runs(dg.RunsFilter(tags={"dagster/partition": partition})):
            if run.run_id in entered:
                continue
            starts = instance.get_records_for_run(
                run.run_id, of_type=dg.DagsterEventType.STEP_START
            ).records
            if any(r.event_log_entry.step_key == "notifications" for r in starts):
                entered[run.run_id] = time.monotonic()
        return len(entered) >= 2 and time.monotonic() - max(entered.values()) >= GRACE_S

    return check


def test_two_run_once_of_the_same_bar_at_once_store_and_send_each_signal_once(
    tmp_path: Path,
    db_url: str,
    hook: Hook,
    session_signals: pd.DataFrame,
    figures: Any,
) -> None:
    bar = busiest_bar(session_signals)
    expected = session_signals[session_signals["partition_key"] == bar.key]
    assert len(expected) >= 2
    home = prepared_home(tmp_path)
    ensure_schema(db_url)
    config = tmp_path / "dgas.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "notifications": {
                    # The webhook first: the second run's first claim is the held message's.
                    "channels": [
                        # The held answer outlasts apprise's 4 s read timeout, whose retry
                        # would be a second POST of the same message from the same run.
                        {"name": "hook", "url": hook.url(query="rto=120")},
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
    at = live_at(bar, minutes=1)
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = process_env(
        PYTHONPATH=str(REPO),
        DGAS_TEST_BARRIER_DIR=str(barrier),
        DGAS_TEST_BARRIER_TIMEOUT=str(BARRIER_TIMEOUT_S),
        DAGSTER_HOME=str(home),
        DGAS_CONFIG=str(config),
        DGAS_DATABASE_URL=db_url,
        DGAS_CLOCK_OFFSET_SECONDS=str(live_at(bar).timestamp() - time.time()),
    )
    command = [sys.executable, "-m", BARRIER_DGAS, "run-once", "--at", at.isoformat(), "--json"]

    started = time.monotonic()
    with (
        instance_at(home) as instance,
        processes() as running,
    ):
        hook.hold_first = both_in_notifications(instance, bar.key)
        # Output to files, not pipes: a pipe nobody drains would block its writer.
        files = [(tmp_path / f"out{i}.json", tmp_path / f"err{i}.txt") for i in range(2)]
        for out, err in files:
            with out.open("w") as stdout, err.open("w") as stderr:
                running.append(
                    subprocess.Popen(
                        command,
                        cwd=tmp_path,
                        env=env,
                        stdout=stdout,
                        stderr=stderr,
                        start_new_session=True,
                    )
                )
        deadline = time.monotonic() + RUN_DEADLINE_S
        for process in running:
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
    elapsed = time.monotonic() - started
    outputs = [(out.read_text(), err.read_text()) for out, err in files]

    summaries = []
    for process, (out, err) in zip(running, outputs, strict=True):
        assert process.returncode == 0, err[-3000:]
        summaries.append(json.loads(out))
    tails = "\n---\n".join(err[-2000:] for _, err in outputs)
    assert [s["partition_key"] for s in summaries] == [bar.key, bar.key]
    assert [s["status"] for s in summaries] == ["SUCCESS", "SUCCESS"], (summaries, tails)
    assert summaries[0]["run_id"] != summaries[1]["run_id"]
    waits = [float(f.read_text() or "nan") for f in barrier.iterdir()]
    assert len(waits) == 2 and max(waits) < BARRIER_TIMEOUT_S, waits  # both met in `signals`
    assert hook.hold_errors == []
    # The first answer really was held until the second run had been sending for a while.
    assert [met for met, _ in hook.held] == [True], (hook.held, tails)

    engine = make_engine(db_url)
    with engine.connect() as conn:
        signals = [dict(r) for r in conn.execute(sa.select(tables.generated_signals)).mappings()]
        log = [dict(r) for r in conn.execute(sa.select(tables.notification_log)).mappings()]
        runs = [dict(r) for r in conn.execute(sa.select(tables.prediction_runs)).mappings()]

    # One set of signals: exactly the bar's, once each.
    found = Counter((s["symbol"], s["signal_type"], s["signal_timestamp"]) for s in signals)
    assert found == Counter(
        (r.symbol, r.signal_type, r.signal_timestamp.to_pydatetime()) for r in expected.itertuples()
    )
    # One delivery per channel and signal: in the log, on the wire, on the console.
    assert sorted((r["channel"], r["status"]) for r in log) == sorted(
        [("hook", "SENT"), ("console", "SENT")] * len(expected)
    )
    sent = Counter(hook.message_keys())
    assert set(sent.values()) == {1}, (sent, [(r["message_key"], r["attempts"]) for r in log])
    assert set(sent) == {r["message_key"] for r in log}
    printed = Counter(
        line for _, err in outputs for line in err.splitlines() if CONSOLE_TITLE.match(line)
    )
    assert len(printed) == len(expected) and set(printed.values()) == {1}, printed
    for signal in signals:
        assert signal["notification_sent"] is True
        assert sorted(signal["notification_channels"]) == ["console", "hook"]
    # Both runs are mirrored, and the tables end idle.
    assert sorted((r["partition_key"], r["status"]) for r in runs) == [
        (bar.key, "SUCCESS"),
        (bar.key, "SUCCESS"),
    ]
    figures("signals", len(expected))
    figures("duplicate_signals", sum(found.values()) - len(found))
    figures("duplicate_notifications", sum(sent.values()) - len(sent))
    figures("seconds_for_both_runs", round(elapsed, 1))
    figures("seconds_held_at_the_barrier", max(waits))


def test_two_runs_storing_the_same_frame_at_once_both_succeed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The IO manager's write-then-rename, by two writers of one partition at once (what the
    two runs above do with their frames): each must rename its own temporary file. Both
    writers finish writing before either renames, so a shared temporary name always fails."""
    real_write = io_manager.pq.write_table
    both_written = threading.Barrier(2, timeout=30)

    def write_then_wait(table: Any, where: Any, **kwargs: Any) -> None:
        real_write(table, where, **kwargs)
        both_written.wait()

    monkeypatch.setattr(io_manager.pq, "write_table", write_then_wait)
    path = tmp_path / "frames" / "signals" / "2026-11-20-1000.parquet"
    frames = [pd.DataFrame({"symbol": [s], "close": [1.0]}) for s in ("A", "B")]
    errors: list[BaseException] = []

    def write(frame: pd.DataFrame) -> None:
        try:
            io_manager.ParquetIOManager._write([path], frame)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=write, args=(f,)) for f in frames]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert pd.read_parquet(path)["symbol"].tolist() in (["A"], ["B"])  # one whole frame
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
