"""What `dgas backfill --wait` did, per session: its cycles, its EOD, the signals found,
their outcomes and what became of their notifications (stale, for a backfill).

Read back from our tables after the runs, like `run-once`'s table (`signals_report`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Engine

from dgas_pipeline.operate.signals_report import delivery_counts, signal_rows
from dgas_pipeline.store.signal_queries import signals_of_partitions
from dgas_pipeline.store.tables import OUTCOMES


def session_summaries(engine: Engine, runs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One summary per session the runs touched, in session order. A cycle key starts with
    its session's date (`2026-11-27-11:00`), an EOD key is that date."""
    sessions: dict[str, dict[str, Any]] = {}
    keys_of: dict[str, list[str]] = {}
    for run in runs:
        for key in run["partitions"]:
            day = str(key)[:10]
            summary = sessions.setdefault(
                day, {"session": day, "cycles": 0, "cycles_failed": 0, "eod": None}
            )
            if run["kind"] == "eod":
                summary["eod"] = "SUCCESS" if run["success"] else "FAILED"
            else:
                summary["cycles"] += 1
                summary["cycles_failed"] += 0 if run["success"] else 1
                keys_of.setdefault(day, []).append(str(key))
    with engine.connect() as conn:
        for day, summary in sessions.items():
            rows = signal_rows(conn, signals_of_partitions(conn, keys_of.get(day, [])), None)
            summary["signals"] = len(rows)
            summary["outcomes"] = {
                name: sum(1 for r in rows if r["outcome"] == name) for name in OUTCOMES
            }
            summary["deliveries"] = delivery_counts(rows) if rows else {}
    return [sessions[day] for day in sorted(sessions)]


def render_session_summaries(summaries: Sequence[Mapping[str, Any]]) -> list[str]:
    """A line per session: cycles run (failed), its EOD, signals and their outcomes."""
    if not summaries:
        return []
    names = [name.lower() for name in OUTCOMES]
    lines = [
        f"{'session':<11} {'cycles':>6} {'failed':>6} {'eod':<8} {'signals':>7} "
        + " ".join(f"{n:>7}" for n in names)
        + "  deliveries"
    ]
    for s in summaries:
        deliveries = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in s["deliveries"].items())
        lines.append(
            f"{s['session']:<11} {s['cycles']:>6} {s['cycles_failed']:>6} {s['eod'] or '-':<8} "
            f"{s['signals']:>7} "
            + " ".join(f"{s['outcomes'][n]:>7}" for n in OUTCOMES)
            + f"  {deliveries or '-'}"
        )
    return lines
