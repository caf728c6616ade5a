"""A backfill launched on the assets runs in Dagster's implicit asset job, not in ours.

The UI's asset graph (and partitions page) launches such backfills: their runs are named
`__ASSET_JOB` and carry none of our job's hooks (the run queue gives them our job's tags:
`daemon/test_asset_launches.py`). They are still our runs: mirrored FAILED when a step fails,
reconciled when they die without a hook, watched for a dead worker, and executed with the
configured executor, not Dagster's process-per-step default.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import time_machine

from dgas_pipeline.defs.automation.reconcile import reconcile_finished_runs
from dgas_pipeline.defs.names import (
    BACKFILL_TAG,
    CYCLE_ASSETS,
    EOD_ASSET,
    LAUNCHED_BY_TAG,
    RANGE_END_TAG,
    RANGE_START_TAG,
)
from dgas_pipeline.defs.runtime.runs import mirrored_kind
from dgas_pipeline_tests.automation.conftest import QUIET, Deployment, alerts_failing, et

DAY = "2026-11-27"  # the early close: seven bars, 09:30..12:30
CYCLE_KEYS = [
    f"{DAY}-{bar}" for bar in ("09:30", "10:00", "10:30", "11:00", "11:30", "12:00", "12:30")
]
SATURDAY_NOON = et("2026-11-28 12:00")
BACKFILL = {LAUNCHED_BY_TAG: "backfill", BACKFILL_TAG: "ui0001"}


def asset_job_range_run(env: Deployment, assets: tuple[str, ...]) -> dg.ExecuteInProcessResult:
    """What a UI backfill's range run executes: the implicit asset job, a range of bars."""
    job = env.defs.resolve_implicit_global_asset_job_def()
    with time_machine.travel(SATURDAY_NOON, tick=True):
        return job.execute_in_process(
            instance=env.instance,
            asset_selection=[dg.AssetKey(name) for name in assets],
            tags={**BACKFILL, RANGE_START_TAG: CYCLE_KEYS[0], RANGE_END_TAG: CYCLE_KEYS[-1]},
            run_config=QUIET,
            raise_on_error=False,
        )


def test_the_implicit_asset_job_runs_the_range_in_one_process_and_mirrors_it(
    deployment: Deployment,
) -> None:
    result = asset_job_range_run(deployment, CYCLE_ASSETS)
    assert result.success and result.dagster_run.job_name == "__ASSET_JOB"
    assert deployment.defs.resolve_implicit_global_asset_job_def().executor_def.name == (
        "in_process"
    )
    rows = {r["partition_key"]: r for r in deployment.runs()}
    assert sorted(rows) == CYCLE_KEYS
    assert {(r["status"], r["kind"], r["launched_by"]) for r in rows.values()} == {
        ("SUCCESS", "cycle", "backfill")
    }


def test_a_step_failing_in_the_implicit_asset_job_mirrors_every_bar_failed(
    deployment: Deployment, tmp_path: Path
) -> None:
    with alerts_failing(deployment, tmp_path):
        result = asset_job_range_run(deployment, CYCLE_ASSETS)
    assert not result.success
    rows = {r["partition_key"]: r for r in deployment.runs()}
    assert sorted(rows) == CYCLE_KEYS
    assert {r["status"] for r in rows.values()} == {"FAILED"}, rows
    assert all("alert engine exploded" in str(r["errors"]) for r in rows.values())


def test_an_asset_job_run_that_died_without_its_hook_is_reconciled_failed(
    deployment: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The hook never runs (a killed worker): the rows keep what the steps wrote until then
    # (`notifications` finished the bars before `alerts` failed) until reconciled.
    from dgas_pipeline.defs.automation import reconcile

    with monkeypatch.context() as patch, alerts_failing(deployment, tmp_path):
        patch.setattr(reconcile, "fail_run", lambda *args, **kwargs: None)
        result = asset_job_range_run(deployment, CYCLE_ASSETS)
    assert not result.success
    assert {r["status"] for r in deployment.runs()} == {"SUCCESS"}

    done = reconcile_finished_runs(deployment.services, deployment.instance)
    assert (done.mirrored, done.skipped) == (1, [])
    assert {r["status"] for r in deployment.runs()} == {"FAILED"}


@pytest.mark.parametrize(
    ("job_name", "assets", "checks", "kind"),
    [
        ("prediction_cycle", (), (), "cycle"),
        ("eod_job", (), (), "eod"),
        ("watchlist_job", (), (), "watchlist"),
        ("__ASSET_JOB", ("bars", "indicators"), (), "cycle"),
        ("__ASSET_JOB", ("alerts",), (), "cycle"),
        ("__ASSET_JOB", (EOD_ASSET,), (), "eod"),
        ("__ASSET_JOB", (), ("bars",), "cycle"),
        ("__ASSET_JOB", ("calibration_report",), (), None),
        ("__ASSET_JOB", (), (), None),
        ("metrics_rollup_job", (), (), None),
    ],
)
def test_which_runs_the_mirror_holds(
    job_name: str, assets: tuple[str, ...], checks: tuple[str, ...], kind: str | None
) -> None:
    run = dg.DagsterRun(
        job_name=job_name,
        asset_selection=frozenset(dg.AssetKey(a) for a in assets) or None,
        asset_check_selection=frozenset(
            dg.AssetCheckKey(dg.AssetKey(a), "bars_valid_and_complete") for a in checks
        )
        or None,
    )
    assert mirrored_kind(run) == kind
