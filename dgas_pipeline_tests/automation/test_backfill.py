"""`dgas backfill`: every planned launch of a range without a successful run, exactly once.

Run on Saturday 2026-11-28 12:00 ET, after the early-close Friday 2026-11-27: seven cycle
bars (09:30..12:30) and its EOD are planned. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
import time_machine
from dagster._core.storage.partition_status_cache import AssetPartitionStatus

from dgas_pipeline import analysis
from dgas_pipeline.cycle.eod import OUTCOME_FIELDS
from dgas_pipeline.defs.runtime.event_batching import BATCH_SIZE_ENV, EVENT_BATCH_SIZE
from dgas_pipeline.location import current_location
from dgas_pipeline.operate.backfill import SESSIONS_PER_RUN, plan_backfill
from dgas_pipeline.store import tables
from dgas_pipeline_tests.automation.conftest import Deployment, alerts_failing, et

DAY = "2026-11-27"
BARS = ("09:30", "10:00", "10:30", "11:00", "11:30", "12:00", "12:30")
CYCLE_KEYS = [f"{DAY}-{bar}" for bar in BARS]
SATURDAY_NOON = et("2026-11-28 12:00")
PLANNED_SUBSET_ENV = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"


def backfill(env: Deployment, *flags: str) -> tuple[int, dict, str]:
    with time_machine.travel(SATURDAY_NOON, tick=True):
        return env.dgas("backfill", "--start", DAY, "--end", DAY, *flags, "--json")


def test_backfill_wait_runs_the_seven_bars_and_the_eod_once(
    deployment_on_each_db: Deployment,
) -> None:
    env = deployment_on_each_db
    code, result, err = backfill(env, "--wait")
    assert (code, err) == (0, "")
    assert (result["launched"], result["skipped_done"], result["failed_runs"]) == (8, 0, 0)
    assert result["backfill_id"]
    assert [(r["kind"], r["partitions"], r["success"]) for r in result["runs"]] == [
        ("cycle", CYCLE_KEYS, True),
        ("eod", [DAY], True),
    ]

    rows = env.runs()
    assert sorted((r["partition_key"], r["kind"]) for r in rows) == sorted(
        [(key, "cycle") for key in CYCLE_KEYS] + [(DAY, "eod")]
    )
    assert {(r["status"], r["launched_by"]) for r in rows} == {("SUCCESS", "backfill")}

    code, again, _ = backfill(env, "--wait")
    assert code == 0
    assert (again["launched"], again["skipped_done"], again["backfill_id"]) == (0, 8, None)
    assert len(env.runs()) == 8


def signal_columns() -> list[sa.Column]:
    """What a cycle decided about a signal (the EOD fills in outcomes later)."""
    return [c for c in tables.generated_signals.c if c.name not in OUTCOME_FIELDS]


def test_backfill_leaves_the_signals_of_a_live_run_as_they_were(
    deployment_on_each_db: Deployment,
) -> None:
    env = deployment_on_each_db
    # The 11:00 bar (ends 11:30) has signals on the default synthetic watchlist.
    with time_machine.travel(et(f"{DAY} 11:35"), tick=True):
        code, live, _ = env.dgas("run-once", "--at", f"{DAY}T11:35-05:00", "--json")
    assert (code, live["partition_key"], live["status"]) == (0, f"{DAY}-11:00", "SUCCESS")
    assert live["signals"] > 0
    with env.engine.connect() as conn:
        query = sa.select(*signal_columns()).order_by(tables.generated_signals.c.id)
        before = [dict(r) for r in conn.execute(query).mappings()]
    assert len(before) == live["signals"]

    code, result, _ = backfill(env, "--wait")
    assert (code, result["launched"], result["skipped_done"]) == (0, 7, 1)
    assert (
        [r["partitions"] for r in result["runs"]]
        == [
            CYCLE_KEYS[:3],  # the stretch before the bar already run
            CYCLE_KEYS[4:],  # and the one after it
            [DAY],
        ]
    )
    with env.engine.connect() as conn:
        after = [dict(r) for r in conn.execute(query).mappings()]
    assert after[: len(before)] == before
    (row,) = env.runs(tables.prediction_runs.c.partition_key == f"{DAY}-11:00")
    assert (row["launched_by"], row["dagster_run_id"]) == ("cli", live["run_id"])


def test_backfill_without_wait_records_a_dagster_backfill_of_the_missing_partitions(
    deployment_on_each_db: Deployment,
) -> None:
    env = deployment_on_each_db
    code, result, _ = backfill(env)
    assert (code, result["launched"], result["skipped_done"]) == (0, 8, 0)
    record = env.instance.get_backfill(result["backfill_id"])
    assert record is not None
    assert record.tags["dgas/launched_by"] == "backfill"
    assert record.asset_backfill_data is not None
    targets = {
        (entry.asset_key.to_user_string(), entry.partition_key)
        for entry in record.asset_backfill_data.target_subset.iterate_asset_partitions()
    }
    # Every asset of the cycle job for each bar (what a live cycle materialises), and the EOD.
    cycle_assets = env.defs.resolve_job_def("prediction_cycle").asset_layer.selected_asset_keys
    assert {"bars", "indicators", "signals", "notifications"} <= {
        a.to_user_string() for a in cycle_assets
    }
    assert targets == {(a.to_user_string(), key) for a in cycle_assets for key in CYCLE_KEYS} | {
        ("eod_consolidation", DAY)
    }
    assert env.runs() == []  # the daemon runs it, not this command


def test_backfill_wait_with_a_failed_run_exits_1_and_mirrors_every_bar_failed(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("indicator engine exploded")

    monkeypatch.setattr(analysis, "compute_indicators", boom)
    code, result, _ = backfill(deployment, "--wait")
    assert code == 1  # README: exit 1 when a run failed
    assert (result["launched"], result["failed_runs"]) == (8, 1)
    rows = {r["partition_key"]: r for r in deployment.runs()}
    assert {rows[key]["status"] for key in CYCLE_KEYS} == {"FAILED"}
    assert all(
        "indicators: RuntimeError: indicator engine exploded" in rows[key]["errors"]
        for key in CYCLE_KEYS
    )
    assert rows[DAY]["status"] == "SUCCESS"  # the EOD does not need the failed assets


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--start", DAY, "--end", "2026-11-26"], "--end"),
        (["--start", "2026-13-01", "--end", DAY], "--start"),
        (["--start", DAY, "--end", "27/11/2026"], "--end"),
        (["--start", DAY], "--end"),
    ],
    ids=["end-before-start", "bad-start", "bad-end", "missing-end"],
)
def test_bad_arguments_exit_2_naming_the_flag(
    deployment: Deployment, argv: list[str], flag: str
) -> None:
    with time_machine.travel(SATURDAY_NOON, tick=True):
        code, out, err = deployment.dgas("backfill", *argv, "--wait", "--json")
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert flag in err
    assert "Traceback" not in err
    assert deployment.runs() == []


def test_a_bar_whose_alerts_failed_is_not_done_and_runs_again(
    deployment: Deployment, tmp_path: Path
) -> None:
    with alerts_failing(deployment, tmp_path):
        code, first, _ = backfill(deployment, "--wait")
    assert (code, first["launched"], first["failed_runs"]) == (1, 8, 1)
    # Every bar's notifications materialised: "done" by that asset alone would skip them all.
    instance = deployment.instance
    assert set(CYCLE_KEYS) <= instance.get_materialized_partitions(dg.AssetKey("notifications"))
    assert not set(CYCLE_KEYS) & instance.get_materialized_partitions(dg.AssetKey("alerts"))

    code, again, _ = backfill(deployment, "--wait")
    assert (code, again["launched"], again["skipped_done"]) == (0, 7, 1)
    assert [(r["partitions"], r["success"]) for r in again["runs"]] == [(CYCLE_KEYS, True)]
    rows = deployment.runs(tables.prediction_runs.c.kind == "cycle")
    assert {r["status"] for r in rows if r["dagster_run_id"] == again["runs"][0]["run_id"]} == {
        "SUCCESS"
    }

    code, third, _ = backfill(deployment, "--wait")
    assert (code, third["launched"], third["skipped_done"]) == (0, 0, 8)


def test_consecutive_missing_sessions_share_a_run_and_each_eod_follows(
    deployment: Deployment,
) -> None:
    # Wednesday, then Thanksgiving (no session), then the early-close Friday.
    with time_machine.travel(SATURDAY_NOON, tick=True):
        code, result, _ = deployment.dgas(
            "backfill", "--start", "2026-11-25", "--end", DAY, "--wait", "--json"
        )
    wednesday = [f"2026-11-25-{h:02d}:{m:02d}" for h in range(9, 16) for m in (0, 30)][1:]
    assert (code, result["launched"], result["failed_runs"]) == (0, 13 + 7 + 2, 0)
    assert [(r["kind"], r["partitions"]) for r in result["runs"]] == [
        ("cycle", wednesday + CYCLE_KEYS),
        ("eod", ["2026-11-25"]),
        ("eod", [DAY]),
    ]
    assert {(r["status"], r["launched_by"]) for r in deployment.runs()} == {("SUCCESS", "backfill")}
    assert len(deployment.runs()) == 13 + 7 + 2


def test_a_stretch_stops_at_sessions_per_run_sessions(deployment: Deployment) -> None:
    with time_machine.travel(SATURDAY_NOON, tick=True):
        plan = plan_backfill(
            deployment.instance,
            deployment.defs,
            current_location(),
            date(2026, 11, 2),
            date(2026, 11, 27),
        )
    sessions = [sorted({key[:10] for key in stretch}) for stretch in plan.cycle_stretches]
    assert SESSIONS_PER_RUN == 10
    weeks = [[f"2026-11-{day:02d}" for day in range(monday, monday + 5)] for monday in (2, 9, 16)]
    assert sessions == [
        weeks[0] + weeks[1],
        weeks[2] + ["2026-11-23", "2026-11-24", "2026-11-25", DAY],  # Thanksgiving closed
    ]
    assert plan.cycle_stretches[1][-1] == CYCLE_KEYS[-1]
    assert sum(len(s) for s in plan.cycle_stretches) == 13 * 18 + 7
    assert len(plan.eods) == 19


@pytest.mark.parametrize("planned_subset", [False, True], ids=["planned-per-bar", "planned-subset"])
def test_a_range_run_failing_half_way_with_batched_events_still_shows_its_bars_failed(
    deployment: Deployment,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    planned_subset: bool,
) -> None:
    # Unset before the command, so what turns batching on is `dgas backfill` itself.
    monkeypatch.setenv(BATCH_SIZE_ENV, "unset")
    monkeypatch.delenv(BATCH_SIZE_ENV)
    if planned_subset:  # Dagster's opt-in: one planned event per asset of a range run
        monkeypatch.setenv(PLANNED_SUBSET_ENV, "true")
    with alerts_failing(deployment, tmp_path):
        code, result, _ = backfill(deployment, "--wait")
    assert os.environ[BATCH_SIZE_ENV] == str(EVENT_BATCH_SIZE)
    assert (code, result["launched"], result["failed_runs"]) == (1, 8, 1)
    (cycle,) = [r for r in result["runs"] if r["kind"] == "cycle"]
    assert (cycle["partitions"], cycle["success"]) == (CYCLE_KEYS, False)

    # Our run mirror: every bar of the range run failed, naming the asset that failed.
    rows = {r["partition_key"]: r for r in deployment.runs()}
    assert {rows[key]["status"] for key in CYCLE_KEYS} == {"FAILED"}
    assert all("alert engine exploded" in str(rows[key]["errors"]) for key in CYCLE_KEYS), rows

    # Dagster's own partition status: the batched materialisations of the steps that
    # finished are all stored; the failed asset's bars are failed unless planned events
    # name the subset (Dagster then has nothing per bar to mark failed: the mirror shows it).
    instance = deployment.instance
    partitions_def = deployment.defs.resolve_assets_def("alerts").partitions_def
    assert partitions_def is not None

    def status(asset: str) -> set[object]:
        found = instance.get_status_by_partition(dg.AssetKey(asset), CYCLE_KEYS, partitions_def)
        assert found is not None
        return set(found.values())

    assert status("notifications") == {AssetPartitionStatus.MATERIALIZED}
    assert status("alerts") == ({None} if planned_subset else {AssetPartitionStatus.FAILED})
