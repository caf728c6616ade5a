"""A step run again in the same run (its RetryPolicy) leaves the run's mirror row as one run.

`bars` writes its per-symbol errors to the row (`mirror.update`) before its output is stored;
when storing fails, `PROVIDER_RETRY` runs the body again for the same run and partition. Both
ways are tested: Dagster's own retry of a real failed write (a directory stands where the
frame's file goes, removed once Dagster has scheduled the retry), and the body invoked twice
with one context (one run id, one partition), which is what a retry does minus the wait.
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import dagster as dg

from dgas_pipeline.defs.cycle.assets import CycleConfig
from dgas_pipeline.store import tables
from dgas_pipeline_tests.defs.conftest import SESSION, CycleEnv, session_bars

MISSING = ["SPY", "QQQ"]
RETRY_WAIT_S = 60


def _remove_after_a_retry_is_scheduled(
    blocker: Path, removed: threading.Event, stop: threading.Event
) -> None:
    """Remove `blocker` once the event log of some run shows a step up for retry."""
    deadline = time.monotonic() + RETRY_WAIT_S
    with dg.DagsterInstance.get() as instance:
        while time.monotonic() < deadline and not (removed.is_set() or stop.is_set()):
            for record in instance.get_run_records():
                retries = instance.all_logs(
                    record.dagster_run.run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY
                )
                if retries:
                    shutil.rmtree(blocker)
                    removed.set()
            time.sleep(0.02)


def _configure_without_bars(cycle_env: CycleEnv, tmp_path: Path) -> str:
    """The files provider on an empty directory, so every symbol is an error line of `bars`;
    returns the partition to run."""
    empty = tmp_path / "no_files"
    empty.mkdir()
    cycle_env.configure(provider={"chain": ["files"], "files_dir": str(empty)})
    return session_bars(SESSION)[3].key


def test_bars_retried_by_dagster_after_its_mirror_update_records_its_errors_once(
    cycle_env: CycleEnv, tmp_path: Path
) -> None:
    key = _configure_without_bars(cycle_env, tmp_path)
    # Where the IO manager puts the bars frame: a directory there fails the write, after
    # `bars` has mirrored its errors.
    blocker = cycle_env.home / "storage" / "frames" / "bars" / f"{key.replace(':', '')}.parquet"
    (blocker / "in_the_way").mkdir(parents=True)
    assert cycle_env.instance  # DAGSTER_HOME set up (as `dgas` does) before the watcher reads it
    removed, stop = threading.Event(), threading.Event()
    watcher = threading.Thread(
        target=_remove_after_a_retry_is_scheduled, args=(blocker, removed, stop)
    )
    watcher.start()
    try:
        result = cycle_env.run_cycle(key, symbols=MISSING)
    finally:
        stop.set()
        watcher.join(timeout=RETRY_WAIT_S)

    assert removed.is_set() and blocker.is_file()  # the retry wrote the frame
    retried = [
        e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY
    ]
    assert retried and {e.step_key for e in retried} == {"bars"}
    assert result.success
    (row,) = cycle_env.rows(tables.prediction_runs)
    assert [line.split(":")[0] for line in row["errors"]] == sorted(MISSING)
    assert (row["status"], row["symbols_requested"]) == ("PARTIAL", 2)


def test_bars_run_twice_in_one_run_records_its_errors_once(
    cycle_env: CycleEnv, tmp_path: Path
) -> None:
    key = _configure_without_bars(cycle_env, tmp_path)
    # The asset as the code location defines it, its resources bound.
    bars = cycle_env.defs.resolve_assets_def("bars")
    context = dg.build_asset_context(instance=cycle_env.instance, partition_key=key)
    config = CycleConfig(symbols=MISSING)

    bars(context, config)
    (first,) = cycle_env.rows(tables.prediction_runs)
    bars(context, config)
    (again,) = cycle_env.rows(tables.prediction_runs)

    assert [line.split(":")[0] for line in first["errors"]] == sorted(MISSING)
    assert again["errors"] == first["errors"]
    run_id = context.op_execution_context.run_id
    assert (again["dagster_run_id"], again["partition_key"]) == (run_id, key)
    assert (again["status"], again["symbols_requested"], again["symbols_processed"]) == (
        "RUNNING",
        2,
        0,
    )
