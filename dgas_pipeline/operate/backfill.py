"""Backfills of planned launches that never succeeded, from `dgas backfill` or the UI.

What to run comes from the planner; what is done comes from Dagster's own materialisation
records (every sink asset of the job: `notifications` and `alerts` for a cycle, the EOD
asset), so a second identical backfill launches nothing and a bar with a failed sink runs
again. Cycles run as one range run per stretch of missing bars (up to SESSIONS_PER_RUN
sessions; the assets' single-run backfill policy); their notifications are stale, so nothing
is sent late.
"""

import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import dagster as dg
from dagster._core.definitions.assets.graph.asset_graph_subset import AssetGraphSubset
from dagster._core.definitions.events import AssetKeyPartitionKey
from dagster._core.execution.backfill import PartitionBackfill

from dgas_pipeline import clock
from dgas_pipeline.defs.automation.sensors import done_assets, done_partitions
from dgas_pipeline.defs.names import (
    BACKFILL_TAG,
    CYCLE_JOB,
    EOD_JOB,
    JOB_OF_KIND,
    LAUNCHED_BY_TAG,
    RANGE_END_TAG,
    RANGE_START_TAG,
    SESSIONS_PER_RANGE_RUN,
)
from dgas_pipeline.defs.runtime.event_batching import batch_event_writes
from dgas_pipeline.defs.runtime.logs import LOG_RUN_CONFIG
from dgas_pipeline.location import Location
from dgas_pipeline.market import plan_launches
from dgas_pipeline.operate.instance import QUIET, load_code_location

# Sessions of missing bars one run of `dgas backfill --wait` covers: the range runs' size.
SESSIONS_PER_RUN = SESSIONS_PER_RANGE_RUN


@dataclass
class BackfillPlan:
    """Missing cycles as contiguous stretches (of up to SESSIONS_PER_RUN sessions), missing
    EODs, and what was done."""

    cycle_stretches: list[list[str]] = field(default_factory=list)
    eods: list[str] = field(default_factory=list)
    skipped_done: int = 0

    @property
    def launches(self) -> int:
        return sum(len(s) for s in self.cycle_stretches) + len(self.eods)


def backfill(
    start: date, end: date, wait: bool, progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """Launch (or, with `wait`, run here) every planned launch of the range not done yet;
    `progress` defaults to a bar on stderr when it is a terminal."""
    batch_event_writes()  # `--wait` runs the range runs in this process
    location, defs, instance = load_code_location()
    with instance:
        plan = plan_backfill(instance, defs, location, start, end)
        result: dict[str, Any] = {
            "launched": plan.launches,
            "skipped_done": plan.skipped_done,
            "backfill_id": None,
        }
        if not plan.launches:
            return result
        if wait:
            shown = progress or progress_bar()
            backfill_id, runs = run_backfill_here(instance, defs, plan, progress=shown)
            result["runs"] = runs
            result["failed_runs"] = sum(1 for r in runs if not r["success"])
        else:
            backfill_id = submit_backfill(instance, defs, plan)
        result["backfill_id"] = backfill_id
        return result


def plan_backfill(
    instance: dg.DagsterInstance,
    defs: dg.Definitions,
    location: Location,
    start: date,
    end: date,
) -> BackfillPlan:
    now = clock.now()  # a bar that has not closed yet is not missing, it is in the future
    planned = [
        x
        for x in plan_launches(location.market, start, end, location.config.plan_settings)
        if x.due <= now
    ]
    done = {
        kind: done_partitions(instance, defs.resolve_job_def(job))
        for kind, job in JOB_OF_KIND.items()
    }
    result = BackfillPlan()
    # Consecutive planned bars are adjacent partitions, so a stretch may cross sessions: a
    # done bar ends it, and so does reaching SESSIONS_PER_RUN sessions.
    stretch: list[str] = []
    sessions: set[date] = set()
    for launch in (x for x in planned if x.kind == "cycle"):
        full = launch.session not in sessions and len(sessions) == SESSIONS_PER_RUN
        if stretch and (launch.partition_key in done["cycle"] or full):
            result.cycle_stretches.append(stretch)
            stretch, sessions = [], set()
        if launch.partition_key in done["cycle"]:
            result.skipped_done += 1
        else:
            stretch.append(launch.partition_key)
            sessions.add(launch.session)
    if stretch:
        result.cycle_stretches.append(stretch)
    for launch in planned:
        if launch.kind != "eod":
            continue
        if launch.partition_key in done["eod"]:
            result.skipped_done += 1
        else:
            result.eods.append(launch.partition_key)
    return result


def submit_backfill(instance: dg.DagsterInstance, defs: dg.Definitions, plan: BackfillPlan) -> str:
    """A Dagster backfill of the plan, run by the daemon, shown on the UI's backfills page."""
    graph = defs.resolve_asset_graph()
    # Every asset the cycle job materialises, so a backfilled bar gets what a live one gets.
    cycle_assets = defs.resolve_job_def(CYCLE_JOB).asset_layer.selected_asset_keys
    wanted = {
        AssetKeyPartitionKey(asset, key)
        for stretch in plan.cycle_stretches
        for key in stretch
        for asset in cycle_assets
    } | {
        AssetKeyPartitionKey(asset, key)
        for asset in done_assets(defs.resolve_job_def(EOD_JOB))
        for key in plan.eods
    }
    backfill_id = PartitionBackfill.from_asset_graph_subset(
        backfill_id=_new_id(),
        backfill_timestamp=time.time(),
        tags={LAUNCHED_BY_TAG: "backfill"},
        dynamic_partitions_store=instance,
        asset_graph_subset=AssetGraphSubset.from_asset_partition_set(wanted, graph),
        title="dgas backfill",
        description=f"{plan.launches} planned launches without a successful run",
        run_config=LOG_RUN_CONFIG,  # its runs are asset runs: no job default names our loggers
    )
    instance.add_backfill(backfill_id)
    return backfill_id.backfill_id


def run_backfill_here(
    instance: dg.DagsterInstance,
    defs: dg.Definitions,
    plan: BackfillPlan,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> tuple[str, list[dict[str, object]]]:
    """Execute the plan in this process (no daemon): each session's cycles, then its EOD."""
    backfill_id = _new_id()
    tags = {LAUNCHED_BY_TAG: "backfill", BACKFILL_TAG: backfill_id}
    cycle_job, eod_job = defs.resolve_job_def(CYCLE_JOB), defs.resolve_job_def(EOD_JOB)
    runs: list[dict[str, object]] = []
    total, finished = plan.launches, 0
    progress(0, total)
    # In session order: a session's cycles before the EOD that judges their signals.
    work = [(keys[0][:10], 0, "cycle", keys) for keys in plan.cycle_stretches]
    work += [(key, 1, "eod", [key]) for key in plan.eods]
    for _, _, kind, keys in sorted(work):
        job = eod_job if kind == "eod" else cycle_job
        if len(keys) == 1:
            where: dict[str, object] = {"partition_key": keys[0], "tags": tags}
        else:
            where = {"tags": {**tags, RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}}
        result = job.execute_in_process(
            instance=instance, run_config=QUIET, raise_on_error=False, **where
        )
        runs.append(
            {"kind": kind, "partitions": keys, "run_id": result.run_id, "success": result.success}
        )
        finished += len(keys)
        progress(finished, total)
    return backfill_id, runs


def _new_id() -> str:
    return uuid.uuid4().hex[:8]


def progress_bar() -> Callable[[int, int], None]:
    """A one-line progress bar on stderr when it is a terminal; silent in pipes and CI."""
    if not sys.stderr.isatty():
        return lambda done, total: None

    def show(done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        sys.stderr.write(f"\rbackfill [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show
