"""Backfill benchmark: range runs vs per-partition runs. Prints one JSON line.

`python bench/backfill.py [--symbols 100] [--sessions 252] [--sample-sessions 1]`

Backfills `--sessions` sessions ending 2026-11-20 for `--symbols` synthetic tickers on a temp
instance: one range run per session (the assets' single-run backfill policy), timed in full.
Per-partition runs (one Dagster run per bar) are timed on `--sample-sessions` sessions only,
and extrapolated linearly to all the bars (each bar's run does the same work whatever the
date: fetch its history, compute, store). The sample sessions are run both ways on separate
databases and their stored signals compared value for value.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
import time_machine

REPO = Path(__file__).resolve().parent.parent
LAST_SESSION = date(2026, 11, 20)
SIGNAL_COLUMNS = ["symbol", "signal_timestamp", "signal_type", "entry_price", "stop_loss",
                  "target_price", "confidence", "signal_strength"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--sessions", type=int, default=252)
    parser.add_argument("--sample-sessions", type=int, default=1)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    work = Path(tempfile.mkdtemp(prefix="dgas-bench-backfill-"))
    config = work / "dgas.yaml"
    tickers = [f"T{i:04d}" for i in range(args.symbols)]
    config.write_text(
        f"symbols: [{', '.join(tickers)}]\nmax_symbols_per_cycle: {args.symbols}\n"
        "partitions_start: 2025-01-02\n"
    )
    os.environ.update(DGAS_CONFIG=str(config), DAGSTER_HOME=str(work / "home"))
    (work / "home").mkdir()
    (work / "home" / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    sys.path.insert(0, str(REPO))

    with time_machine.travel(pd.Timestamp("2026-11-21T12:00:00-05:00").to_pydatetime()):
        from dgas_pipeline.definitions import defs
        from dgas_pipeline.defs.location import current_location
        from dgas_pipeline.defs.operations import QUIET
        from dgas_pipeline.defs.sensors import RANGE_END_TAG, RANGE_START_TAG
        from dgas_pipeline.market import PlanSettings, plan_launches
        from dgas_pipeline.store import repositories as repo

        market = current_location().market
        sessions = market.sessions_between(date(2024, 1, 1), LAST_SESSION)[-args.sessions :]
        job = defs.resolve_job_def("prediction_cycle")
        instance = dg.DagsterInstance.get()
        pipeline = defs.resources["pipeline"]

        def keys_of(day: date) -> list[str]:
            launches = plan_launches(market, day, day, PlanSettings())
            return [x.partition_key for x in launches if x.kind == "cycle"]

        def stored_signals(db: Path) -> pd.DataFrame:
            os.environ["DGAS_DATABASE_URL"] = f"sqlite:///{db}"
            with pipeline.engine().connect() as conn:
                rows = pd.DataFrame(repo.signals_since(conn, sessions[0].open))
            return rows[SIGNAL_COLUMNS].sort_values(SIGNAL_COLUMNS[:3], ignore_index=True)

        sample = sessions[-args.sample_sessions :]
        os.environ["DGAS_DATABASE_URL"] = f"sqlite:///{work / 'per_partition.db'}"
        per_bar: list[float] = []
        for session in sample:
            for key in keys_of(session.date):
                began = time.perf_counter()
                job.execute_in_process(instance=instance, partition_key=key, run_config=QUIET)
                per_bar.append(time.perf_counter() - began)

        os.environ["DGAS_DATABASE_URL"] = f"sqlite:///{work / 'range.db'}"
        per_session: list[float] = []
        for session in sessions:
            keys = keys_of(session.date)
            began = time.perf_counter()
            job.execute_in_process(
                instance=instance,
                tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]},
                run_config=QUIET,
            )
            per_session.append(time.perf_counter() - began)

        def in_sample(frame: pd.DataFrame) -> pd.DataFrame:
            # A live cycle also re-derives the previous session's last signal (same row);
            # compare the signals of the sample sessions' own bars.
            window = (frame["signal_timestamp"] > sample[0].open) & (
                frame["signal_timestamp"] <= sample[-1].close
            )
            return frame[window].reset_index(drop=True)

        live = in_sample(stored_signals(work / "per_partition.db"))
        ranged = in_sample(stored_signals(work / "range.db"))

    bars = sum(len(keys_of(s.date)) for s in sessions)
    range_total = sum(per_session)
    per_partition_total = statistics.mean(per_bar) * bars
    print(
        json.dumps(
            {
                "symbols": args.symbols,
                "sessions": len(sessions),
                "bars": bars,
                "range_runs_total_s": round(range_total, 1),
                "range_run_median_s": round(statistics.median(per_session), 3),
                "per_partition_run_median_s": round(statistics.median(per_bar), 3),
                "per_partition_total_s_extrapolated": round(per_partition_total, 1),
                "speedup": round(per_partition_total / range_total, 1),
                "sample_signals": len(live),
                "sample_signals_identical": bool(len(live) == len(ranged) and live.equals(ranged)),
            }
        )
    )


if __name__ == "__main__":
    main()
