"""A retry from failure mirrors its bar with the counts of the run it retries.

Dagster re-executes only the failed step and those after it, so `bars` and `signals` (which
write the counts) do not run again; the one SUCCESS row of the bar must still say how many
signals it has. The real retry is exercised by reliability/test_killed_runs.py (daemon).
"""

from datetime import UTC, datetime

import sqlalchemy as sa

from dgas_pipeline.cycle import mirror
from dgas_pipeline.market import MarketHoursManager, PlanSettings
from dgas_pipeline.store import tables
from dgas_pipeline.store.engine import dispose_engine, make_engine
from dgas_pipeline.store.schema import ensure_schema

BAR = mirror.RunPartition(
    "2026-11-20-10:30",
    datetime(2026, 11, 20, 15, 30, tzinfo=UTC),
    datetime(2026, 11, 20, 16, 0, tzinfo=UTC),
)
FIGURES = {"symbols_requested": 7, "symbols_processed": 6, "signals_generated": 4}


def identity(run_id: str, parent: str | None = None) -> mirror.RunIdentity:
    return mirror.RunIdentity(
        dagster_run_id=run_id,
        kind="cycle",
        launched_by="retry" if parent else "sensor",
        interval_type="30min",
        started_at=datetime(2026, 11, 20, 16, 0, tzinfo=UTC),
        partitions=[BAR],
        parent_run_id=parent,
    )


def rows(url: str) -> dict[str, dict[str, object]]:
    with make_engine(url).connect() as conn:
        found = conn.execute(sa.select(tables.prediction_runs)).mappings()
        return {r["dagster_run_id"]: dict(r) for r in found}


def test_a_retry_without_its_own_row_carries_the_parents_counts(db_url: str) -> None:
    ensure_schema(db_url)
    engine, market, plan = make_engine(db_url), MarketHoursManager(), PlanSettings()
    try:
        parent = identity("parent-run")
        mirror.mark_running(engine, parent, symbols_requested=7)
        mirror.update(engine, parent, symbols_processed=6, signals_generated=4)
        mirror.finish(engine, parent, market, plan, failed="run worker died")

        assert mirror.finish(engine, identity("retry-run", "parent-run"), market, plan) == (
            "SUCCESS"
        )
        mirror.finish(engine, identity("fresh-run"), market, plan)  # no parent: nothing carried
        found = rows(db_url)
    finally:
        dispose_engine(db_url)
    retry = found["retry-run"]
    assert {k: retry[k] for k in FIGURES} == FIGURES
    assert (retry["status"], retry["errors"], retry["launched_by"]) == ("SUCCESS", [], "retry")
    assert found["parent-run"]["status"] == "FAILED"
    assert {k: found["fresh-run"][k] for k in FIGURES} == dict.fromkeys(FIGURES, 0)


def state_of(url: str) -> tuple[object, object]:
    with make_engine(url).connect() as conn:
        row = conn.execute(sa.select(tables.scheduler_state)).mappings().one()
    return row["status"], row["current_run_id"]


def test_a_failure_mirrored_after_a_later_run_wrote_the_state_leaves_the_state_alone(
    db_url: str,
) -> None:
    """A run-status sensor can mirror a killed run's failure after Dagster's retry of it has
    already succeeded: the rows become FAILED, but `scheduler_state` stays the retry's IDLE."""
    ensure_schema(db_url)
    engine, market, plan = make_engine(db_url), MarketHoursManager(), PlanSettings()
    killed, retry = identity("killed-run"), identity("retry-run", "killed-run")
    try:
        mirror.mark_running(engine, killed, symbols_requested=7)
        ended = datetime.now(UTC)  # when Dagster failed the killed run
        mirror.finish(engine, retry, market, plan)  # the retry succeeds first
        late = mirror.finish(engine, killed, market, plan, failed="worker died", ended_at=ended)
        after_late = state_of(db_url)
        # The same failure mirrored before any later run wrote the state does set ERROR.
        mirror.mark_running(engine, identity("next-run"))
        mirror.finish(
            engine, identity("next-run"), market, plan, failed="died", ended_at=datetime.now(UTC)
        )
        after_timely = state_of(db_url)
        found = rows(db_url)
    finally:
        dispose_engine(db_url)
    assert late == "FAILED" and found["killed-run"]["status"] == "FAILED"
    assert after_late == ("IDLE", None)
    assert after_timely == ("ERROR", None)


def test_a_range_runs_rows_take_each_bars_own_figures_and_errors(db_url: str) -> None:
    """A range run writes all its bars' rows per stage at once; what belongs to one bar (its
    signal count, its failed symbols) lands on that bar's row only, the rest on every row."""
    ensure_schema(db_url)
    engine, market, plan = make_engine(db_url), MarketHoursManager(), PlanSettings()
    parts = [
        mirror.RunPartition(f"2026-11-20-{h}:{m}") for h, m in (("09", "30"), ("10", "00"))
    ] + [BAR]
    run = mirror.RunIdentity(
        dagster_run_id="range-run",
        kind="cycle",
        launched_by="backfill",
        interval_type="30min",
        started_at=datetime(2026, 11, 20, 16, 0, tzinfo=UTC),
        partitions=parts,
    )
    try:
        mirror.mark_running(engine, run, symbols_requested=7)
        mirror.update(engine, run, ["T1: no bars"], symbols_processed=6)
        mirror.update(
            engine,
            run,
            partition_errors={BAR.key: ["T2: signals: boom"]},
            partition_fields={
                parts[0].key: {"signals_generated": 3},
                BAR.key: {"signals_generated": 1, "symbols_processed": 5},
            },
        )
        final = mirror.finish(engine, run, market, plan)
        with make_engine(db_url).connect() as conn:
            stored = {
                r["partition_key"]: dict(r)
                for r in conn.execute(sa.select(tables.prediction_runs)).mappings()
            }
    finally:
        dispose_engine(db_url)
    assert final == "PARTIAL" and len(stored) == 3
    figures = {
        key: (r["symbols_requested"], r["symbols_processed"], r["signals_generated"], r["errors"])
        for key, r in stored.items()
    }
    assert figures == {
        parts[0].key: (7, 6, 3, ["T1: no bars"]),
        parts[1].key: (7, 6, 0, ["T1: no bars"]),
        BAR.key: (7, 5, 1, ["T1: no bars", "T2: signals: boom"]),
    }
    assert {r["status"] for r in stored.values()} == {"PARTIAL"}
