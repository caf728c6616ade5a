"""Operator commands that need the Dagster instance: backfill and status.

The CLI imports this lazily: `dgas plan` and `dgas calendar` stay free of Dagster's import
cost, while these commands load the code location once, after DAGSTER_HOME is settled.
"""

import sys
import warnings
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg
import yaml

from dgas_pipeline.defs.clock import clock_now
from dgas_pipeline.defs.logs import with_logs
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.instance import ensure_dagster_home
from dgas_pipeline.market import next_launch
from dgas_pipeline.store import repositories as repo

# Runs started here keep their full event log on the instance (and in the UI); the terminal
# only gets warnings and the command's summary.
QUIET = with_logs({"loggers": {"console": {"config": {"log_level": "WARNING"}}}})

# Our own use of beta/preview APIs is deliberate; operators should not see the notices.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)


def load_code_location() -> tuple[dg.Definitions, dg.DagsterInstance]:
    home = ensure_dagster_home()
    from dgas_pipeline.definitions import defs

    try:
        instance = dg.DagsterInstance.get()
    except (dg.DagsterError, yaml.YAMLError, OSError) as err:
        # An operator's own dagster.yaml in the home that Dagster cannot load. Its first two
        # lines say what is wrong ("Errors whilst loading ...", "Error 1: ..."); cut long ones.
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        why = " ".join(lines[:2]) or type(err).__name__
        raise InvalidInput(
            "DAGSTER_HOME",
            str(home),
            f"holds a dagster.yaml Dagster cannot load: {why[:300]}",
        ) from None
    return defs, instance


def backfill(start: date, end: date, wait: bool) -> dict[str, Any]:
    from dgas_pipeline.defs.backfill import plan_backfill, run_backfill_here, submit_backfill

    defs, instance = load_code_location()
    with instance:
        plan = plan_backfill(instance, defs, start, end)
        result: dict[str, Any] = {
            "launched": plan.launches,
            "skipped_done": plan.skipped_done,
            "backfill_id": None,
        }
        if not plan.launches:
            return result
        if wait:
            backfill_id, runs = run_backfill_here(instance, defs, plan, progress=_progress_bar())
            result["runs"] = runs
            result["failed_runs"] = sum(1 for r in runs if not r["success"])
        else:
            backfill_id = submit_backfill(instance, defs, plan)
        result["backfill_id"] = backfill_id
        return result


def status() -> dict[str, Any]:
    from dgas_pipeline.defs.location import current_location
    from dgas_pipeline.defs.reconcile import reconcile_dead_workers, reconcile_finished_runs

    defs, instance = load_code_location()
    pipeline = defs.resources["pipeline"]
    with instance:
        # Without a daemon nobody else notices a run whose worker was killed: fail it first,
        # then mirror it with every other failed run.
        dead = reconcile_dead_workers(pipeline, instance)
        finished = reconcile_finished_runs(pipeline, instance)
    location = current_location()
    upcoming = next_launch(location.market, clock_now(), location.config.plan_settings)
    with pipeline.engine().connect() as conn:
        state = repo.get_scheduler_state(conn) or {"status": "IDLE"}
        runs = repo.recent_runs(conn, limit=10)
    return {
        "scheduler_state": _plain(state),
        "next_launch": upcoming.to_json() if upcoming else None,
        "recent_runs": [_plain(r) for r in runs],
        "reconciled": dead + finished.mirrored,
        "dead_workers": dead,
        # Runs in the instance the mirror cannot map (a key the current config does not
        # have, odd tags): listed, never fatal.
        "skipped_runs": [
            {"run_id": s.run_id, "job": s.job_name, "reason": s.reason} for s in finished.skipped
        ],
    }


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.astimezone(UTC).isoformat().replace("+00:00", "Z") if isinstance(v, datetime) else v)
        for k, v in row.items()
    }


def _progress_bar():
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
