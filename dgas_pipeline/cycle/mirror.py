"""The run mirror: runs of the cycle, EOD and watchlist jobs, as rows of our tables.

Each run writes its own `prediction_runs` rows (one per partition it covers) while it goes:
RUNNING when it starts, its stage timings as they finish, SUCCESS/PARTIAL at the end, FAILED
from the job's failure hook; `scheduler_state` follows. A run that is killed cannot write its
end; the run-status sensor reconciles those from Dagster's own run records.

Run times (start, end, duration, `last_run_timestamp`) are on the system clock, as Dagster's
run records are, so an end mirrored after the fact compares with them; the next planned
launch is asked of the calendar at the pipeline's `clock.now()`.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from dgas_pipeline import clock
from dgas_pipeline.market import MarketHoursManager, PlanSettings, next_launch
from dgas_pipeline.store import repositories as repo
from dgas_pipeline.store.engine import write_transaction

# Stage figures a retry from failure inherits: the steps that produced them do not run again.
CARRIED_FIGURES = (
    "symbols_requested",
    "symbols_processed",
    "signals_generated",
    "data_fetch_ms",
    "indicator_calc_ms",
    "signal_generation_ms",
)


@dataclass(frozen=True)
class RunPartition:
    key: str
    bar_start: datetime | None = None
    bar_end: datetime | None = None


@dataclass(frozen=True)
class RunIdentity:
    """What every mirror row of one run shares."""

    dagster_run_id: str
    kind: str
    launched_by: str
    interval_type: str
    started_at: datetime
    partitions: Sequence[RunPartition]
    parent_run_id: str | None = None

    def base_row(self, part: RunPartition) -> dict[str, Any]:
        return {
            "run_id": f"{self.kind}:{part.key}:{self.dagster_run_id[:8]}",
            "run_timestamp": self.started_at,
            "interval_type": self.interval_type,
            "dagster_run_id": self.dagster_run_id,
            "partition_key": part.key,
            "kind": self.kind,
            "launched_by": self.launched_by,
            "bar_start": part.bar_start,
            "bar_end": part.bar_end,
        }


def mark_running(engine: Engine, run: RunIdentity, **fields: Any) -> None:
    with write_transaction(engine) as conn:
        repo.record_runs(
            conn,
            [{**run.base_row(part), "status": "RUNNING", **fields} for part in run.partitions],
        )
        repo.set_scheduler_state(
            conn,
            status="RUNNING",
            current_run_id=run.dagster_run_id,
            last_run_timestamp=clock.system_now(),
        )


def update(
    engine: Engine,
    run: RunIdentity,
    errors: Sequence[str] = (),
    *,
    partition_errors: Mapping[str, Sequence[str]] | None = None,
    partition_fields: Mapping[str, Mapping[str, Any]] | None = None,
    **fields: Any,
) -> None:
    """Add stage figures (and errors) to the run's rows, keeping what earlier stages wrote.

    `errors` and `fields` go to every row; `partition_errors` and `partition_fields` (by
    partition key) only to that row's: a failure that cost some bars of a range run and not
    the others, a count of each bar's own. A range run's rows are read and written in one
    statement each, whatever the number of bars.
    """
    by_key = partition_errors or {}
    own = partition_fields or {}
    with write_transaction(engine) as conn:
        stored = repo.get_runs(conn, run.dagster_run_id)
        rows = []
        for part in run.partitions:
            existing = stored.get(part.key)
            status = existing["status"] if existing else "RUNNING"
            merged = with_new_errors(existing, [*errors, *by_key.get(part.key, ())])
            rows.append(
                {
                    **run.base_row(part),
                    "status": status,
                    "errors": merged,
                    **fields,
                    **own.get(part.key, {}),
                }
            )
        repo.record_runs(conn, rows)


def finish(
    engine: Engine,
    run: RunIdentity,
    market: MarketHoursManager,
    plan: PlanSettings,
    *,
    failed: str | None = None,
    errors: Sequence[str] = (),
    ended_at: datetime | None = None,
    **fields: Any,
) -> str:
    """Write the final status of every row and put `scheduler_state` back to IDLE or ERROR.

    `ended_at` is given when the end is mirrored after the fact (a run-status sensor, `dgas
    status`): if another run wrote `scheduler_state` since then (a retry that already
    succeeded, or is running), the state stays that run's and only the rows are written.
    """
    now = clock.system_now()
    elapsed_ms = int((now - run.started_at).total_seconds() * 1000)
    with write_transaction(engine) as conn:
        final = "FAILED"
        failed_before = False
        stored = repo.get_runs(conn, run.dagster_run_id)
        parent = _parent_rows(conn, run, stored)
        rows = []
        for part in run.partitions:
            existing = stored.get(part.key)
            inherited = _inherited_figures(parent.get(part.key)) if existing is None else {}
            merged = with_new_errors(existing, [*errors, *([failed] if failed else [])])
            # A step of this run that failed earlier (its hook wrote FAILED) keeps the run
            # FAILED when a sibling step finishes after it: Dagster reports the run failed.
            failed_before = failed_before or bool(existing and existing["status"] == "FAILED")
            final = "FAILED" if failed or failed_before else ("PARTIAL" if merged else "SUCCESS")
            rows.append(
                {
                    **inherited,
                    **run.base_row(part),
                    "status": final,
                    "errors": merged,
                    "execution_time_ms": elapsed_ms,
                    **fields,
                }
            )
        repo.record_runs(conn, rows)
        if _state_is_newer(conn, run, ended_at):
            return final
        upcoming = next_launch(market, clock.now(), plan)
        repo.set_scheduler_state(
            conn,
            status="ERROR" if failed or failed_before else "IDLE",
            current_run_id=None,
            last_run_timestamp=now,
            next_scheduled_run=upcoming.due if upcoming else None,
            error_message=failed if failed or not failed_before else repo.KEEP,
        )
    return final


def _state_is_newer(conn: Any, run: RunIdentity, ended_at: datetime | None) -> bool:
    if ended_at is None:
        return False
    state = repo.get_scheduler_state(conn)
    written = state["last_run_timestamp"] if state else None
    return (
        written is not None
        and written > ended_at
        and state is not None
        and state["current_run_id"] != run.dagster_run_id
    )


def _parent_rows(
    conn: Any, run: RunIdentity, stored: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """The parent run's rows, when some bar of this run has none of its own yet."""
    if not run.parent_run_id or all(part.key in stored for part in run.partitions):
        return {}
    return repo.get_runs(conn, run.parent_run_id)


def _inherited_figures(parent: Mapping[str, Any] | None) -> dict[str, Any]:
    """A retry from failure (Dagster re-executes only the failed steps and those after them)
    reaches its end without a row of its own: its counts are its parent run's, which stored
    the signals it notifies. Without them the one SUCCESS row of the bar would say 0 signals.
    """
    return {name: parent[name] for name in CARRIED_FIGURES} if parent else {}


def with_new_errors(existing: Mapping[str, Any] | None, errors: Sequence[str]) -> list[str]:
    """The row's errors plus those of `errors` it does not hold yet, in order.

    A step retried by its RetryPolicy runs its body again in the same run, so it reports the
    same lines for the same row a second time; one copy is all the row should show.
    """
    recorded = list(existing["errors"]) if existing else []
    return recorded + [line for line in dict.fromkeys(errors) if line not in recorded]
