"""Backfill benchmark: range runs vs per-partition runs, side by side. Prints one JSON line.

    python bench/backfill.py [--symbols 100] [--sessions 252] [--sample-sessions 2]
        [--sessions-per-run 1] [--storage sqlite|postgres] [--planned-subset] [--profile]

Backfills `--sessions` sessions ending 2026-11-20 for `--symbols` synthetic tickers on a temp
instance, as range runs of `--sessions-per-run` whole sessions each (1: what the sensor's
catch-up and `dgas backfill` launch), all timed. Per-partition runs (one Dagster run per bar,
what a live day costs) are timed on the last `--sample-sessions` sessions only, each run
right after the range run holding that session so both see the same machine load, and
extrapolated to every bar: per-partition total = mean seconds per bar run x all bars (each
bar's run does the same work whatever the date: fetch its history, compute, store, and the
same Dagster events). `sample_speedup` is the same ratio on the sample sessions alone.

The two ways write separate databases of our tables; the signals stored for the sample
sessions are compared value for value (`sample_signals_identical`).

`--storage postgres` puts Dagster's storage and our tables in fresh databases on
postgresql://postgres@127.0.0.1:5432 (dropped afterwards) instead of SQLite files.
`--planned-subset` sets Dagster's DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS: one
planned event per asset of a range run instead of one per partition (Dagster then does not
mark a failed range run's partitions failed; our run mirror still does).
Dagster's batched event writes (DAGSTER_EVENT_BATCH_SIZE) are on, as in every run worker
(`defs.runtime.event_batching`); `--unbatched` turns them off for comparison. On PostgreSQL
the storages are deploy/dagster.yaml's (an event log keeping its connection open);
`--unpooled` uses dagster-postgres's own event log instead (a connection per event). On
SQLite the event log is the embedded default's (`dgas_pipeline/dagster.yaml`: a batch in one
transaction per file); `--unpooled` uses Dagster's own SQLite event log (a transaction per
event) instead.

`--profile` runs the range runs under cProfile and adds `range_profile`: the seconds spent
inside each area (cumulative time of its entry points, from cProfile, so inflated by its
overhead alike) and its share of the profiled range runs. `check_plans` (the asset checks'
planned rows) is within both `run_creation` and `dagster_events_and_storage`;
`partition_subsets` is Dagster working out a range's partitions for inputs and outputs.
`--profile-clock cpu` (default) counts this process's CPU seconds, which the other
processes of a loaded host inflate far less than wall time but which leave out waiting (for
PostgreSQL, for the disk); `wall` counts wall time. Areas nest where noted: `sql` is
every SQL statement (Dagster's storage and ours), also counted in the area issuing it;
`charts` is within `signals`.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
import time_machine
import yaml

REPO = Path(__file__).resolve().parent.parent
LAST_SESSION = date(2026, 11, 20)
SERVER = "postgresql://postgres@127.0.0.1:5432"
STORAGES = ("run_storage", "event_log_storage", "schedule_storage")
# Entry points of each profiled area: (end of the file path, function name).
PROFILE_AREAS: dict[str, list[tuple[str, str]]] = {
    "dagster_events_and_storage": [
        ("dagster/_core/instance/methods/event_methods.py", "handle_new_event")
    ],
    "run_creation": [("dagster/_core/instance/runs/run_domain.py", "create_run")],
    "check_plans": [
        (
            "dagster/_core/storage/event_log/sql_event_log.py",
            "_store_asset_check_evaluation_planned",
        ),
        ("dgas_pipeline/event_log_storage.py", "_store_asset_check_evaluation_planned"),
    ],
    "partition_subsets": [
        (
            "dagster/_core/definitions/partitions/subset/partitions_subset.py",
            "with_partition_key_range",
        ),
    ],
    "io_manager_write": [("dgas_pipeline/defs/runtime/io_manager.py", "handle_output")],
    "io_manager_read": [("dgas_pipeline/defs/runtime/io_manager.py", "load_input")],
    "bars": [("dgas_pipeline/cycle/bars.py", "fetch_cycle_bars")],
    "indicators": [("dgas_pipeline/cycle/indicators.py", "compute_snapshots")],
    "bars_check": [("dgas_pipeline/cycle/checks.py", "check_bars")],
    "signals": [("dgas_pipeline/cycle/signals.py", "find_signals")],
    "charts": [("dgas_pipeline/cycle/signals.py", "chart_markdown")],
    "notifications_and_mirror_finish": [("dgas_pipeline/cycle/notifications.py", "notify_cycle")],
    "alerts": [("dgas_pipeline/cycle/alerts_pass.py", "run_alert_rules")],
    "mirror": [
        ("dgas_pipeline/cycle/mirror.py", "mark_running"),
        ("dgas_pipeline/cycle/mirror.py", "update"),
        ("dgas_pipeline/cycle/mirror.py", "finish"),
    ],
    "sql": [("sqlalchemy/engine/base.py", "_execute_context")],
}
SIGNAL_COLUMNS = ["symbol", "signal_timestamp", "signal_type", "entry_price", "stop_loss",
                  "target_price", "confidence", "signal_strength"]  # fmt: skip


@contextmanager
def databases(storage: str, work: Path) -> Iterator[dict[str, str]]:
    """URLs of the Dagster storage ("dagster") and of our two table sets, dropped at exit."""
    if storage == "sqlite":
        yield {name: f"sqlite:///{work / name}.db" for name in ("per_partition", "range")}
        return
    admin = sa.create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    names = {n: f"bench_{n}_{uuid.uuid4().hex[:8]}" for n in ("dagster", "per_partition", "range")}
    with admin.connect() as conn:
        for db in names.values():
            conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
    try:
        yield {n: f"{SERVER}/{db}" for n, db in names.items()}
    finally:
        from dgas_pipeline.store.engine import dispose_engine

        for db in names.values():
            dispose_engine(f"{SERVER}/{db}")
        with admin.connect() as conn:
            for db in names.values():
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--sessions", type=int, default=252)
    parser.add_argument("--sample-sessions", type=int, default=2)
    parser.add_argument("--sessions-per-run", type=int, default=1)
    parser.add_argument("--storage", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--planned-subset", action="store_true")
    parser.add_argument("--unbatched", action="store_true")
    parser.add_argument("--unpooled", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-out", default="backfill-range.prof")
    parser.add_argument("--profile-clock", choices=("cpu", "wall"), default="cpu")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    work = Path(tempfile.mkdtemp(prefix="dgas-bench-backfill-"))
    with databases(args.storage, work) as urls:
        print(json.dumps(run(args, work, urls)))


def run(args: argparse.Namespace, work: Path, urls: dict[str, str]) -> dict[str, object]:
    config = work / "dgas.yaml"
    tickers = [f"T{i:04d}" for i in range(args.symbols)]
    config.write_text(
        f"symbols: [{', '.join(tickers)}]\nmax_symbols_per_cycle: {args.symbols}\n"
        "partitions_start: 2025-01-02\n"
    )
    home = work / "home"
    home.mkdir()
    instance = yaml.safe_load((REPO / "dgas_pipeline" / "dagster.yaml").read_text())
    if "dagster" not in urls and args.unpooled:  # Dagster's own SQLite event log
        del instance["event_log_storage"]
    if "dagster" in urls:
        # The production instance's storages (deploy/dagster.yaml) on the bench database.
        os.environ["DAGSTER_POSTGRES_URL"] = urls["dagster"].replace(
            "postgresql://", "postgresql+psycopg2://"
        )
        production = yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())
        storages = {k: production[k] for k in STORAGES}
        if args.unpooled:  # dagster-postgres's own event log: a connection per event
            storages["event_log_storage"] |= {
                "module": "dagster_postgres.event_log",
                "class": "PostgresEventLogStorage",
            }
        instance |= storages
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance))
    os.environ.update(DGAS_CONFIG=str(config), DAGSTER_HOME=str(home))
    if args.planned_subset:
        os.environ["DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"] = "true"
    from dgas_pipeline.defs.runtime.event_batching import BATCH_SIZE_ENV, batch_event_writes

    if args.unbatched:
        os.environ[BATCH_SIZE_ENV] = "0"
    batch_event_writes()
    sys.path.insert(0, str(REPO))

    with time_machine.travel(pd.Timestamp("2026-11-21T12:00:00-05:00").to_pydatetime()):
        import dagster as dg

        from dgas_pipeline.defs import build_definitions
        from dgas_pipeline.defs.names import RANGE_END_TAG, RANGE_START_TAG
        from dgas_pipeline.location import current_location
        from dgas_pipeline.market import PlanSettings, plan_launches
        from dgas_pipeline.operate.instance import QUIET
        from dgas_pipeline.store import repositories as repo

        location = current_location()
        defs = build_definitions(location)
        market = location.market
        sessions = market.sessions_between(date(2024, 1, 1), LAST_SESSION)[-args.sessions :]
        sample = sessions[-args.sample_sessions :] if args.sample_sessions else []
        job = defs.resolve_job_def("prediction_cycle")
        instance = dg.DagsterInstance.get()

        def keys_of(first: date, last: date) -> list[str]:
            launches = plan_launches(market, first, last, PlanSettings())
            return [x.partition_key for x in launches if x.kind == "cycle"]

        def use(name: str) -> None:
            os.environ["DGAS_DATABASE_URL"] = urls[name]

        def stored_signals(name: str) -> pd.DataFrame:
            use(name)
            with location.engine().connect() as conn:
                rows = pd.DataFrame(repo.signals_since(conn, sessions[0].open))
            if rows.empty:
                return pd.DataFrame(columns=SIGNAL_COLUMNS)
            return rows[SIGNAL_COLUMNS].sort_values(SIGNAL_COLUMNS[:3], ignore_index=True)

        cpu = {"range": 0.0, "per_partition": 0.0}
        clock = time.process_time if args.profile_clock == "cpu" else time.perf_counter
        profiler = cProfile.Profile(clock) if args.profile else None

        def timed(**where: object) -> float:
            ranged = "partition_key" not in where
            began, began_cpu = time.perf_counter(), time.process_time()
            if profiler is not None and ranged:
                profiler.enable()
            result = job.execute_in_process(
                instance=instance, run_config=QUIET, raise_on_error=False, **where
            )
            if profiler is not None and ranged:
                profiler.disable()
            if not result.success:
                raise SystemExit(f"run {result.run_id} failed: {where}")
            cpu["range" if ranged else "per_partition"] += time.process_time() - began_cpu
            return time.perf_counter() - began

        per_run: list[float] = []
        per_bar: list[float] = []
        range_sample_s = 0.0
        sample_dates = {s.date for s in sample}
        step = args.sessions_per_run
        for i in range(0, len(sessions), step):
            chunk = sessions[i : i + step]
            keys = keys_of(chunk[0].date, chunk[-1].date)
            use("range")
            seconds = timed(tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]})
            per_run.append(seconds)
            # progress on stderr: what a run cut short (a year on a loaded host) still reports
            progress = {"range_run": len(per_run), "bars": len(keys), "s": round(seconds, 1)}
            print(json.dumps(progress | {"rss_mib": rss_mib()}), file=sys.stderr, flush=True)
            sampled = [s for s in chunk if s.date in sample_dates]
            if sampled:
                range_sample_s += (
                    seconds * len([k for s in sampled for k in keys_of(s.date, s.date)]) / len(keys)
                )
            use("per_partition")
            for session in sampled:
                for key in keys_of(session.date, session.date):
                    per_bar.append(timed(partition_key=key))

        def in_sample(frame: pd.DataFrame) -> pd.DataFrame:
            # A live cycle also re-derives the previous session's last signal (same row);
            # compare the signals of the sample sessions' own bars.
            window = (frame["signal_timestamp"] > sample[0].open) & (
                frame["signal_timestamp"] <= sample[-1].close
            )
            return frame[window].reset_index(drop=True)

        live = in_sample(stored_signals("per_partition")) if sample else pd.DataFrame()
        ranged = in_sample(stored_signals("range")) if sample else pd.DataFrame()

    bars = len(keys_of(sessions[0].date, sessions[-1].date))
    range_total = sum(per_run)
    result: dict[str, object] = {
        "symbols": args.symbols,
        "sessions": len(sessions),
        "bars": bars,
        "storage": args.storage,
        "sessions_per_run": step,
        "planned_subset": args.planned_subset,
        "event_batch_size": int(os.environ[BATCH_SIZE_ENV]),
        "event_log_pooled": args.storage == "postgres" and not args.unpooled,
        "event_log_batched": not args.unpooled,
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "range_runs": len(per_run),
        "range_runs_total_s": round(range_total, 1),
        "range_run_median_s": round(statistics.median(per_run), 3),
        "range_s_per_bar": round(range_total / bars, 4),
        "range_cpu_s_per_bar": round(cpu["range"] / bars, 4),
        # Peak RSS of this process, which ran every run: an upper bound of the largest run's.
        "max_rss_mib": rss_mib(),
    }
    if per_bar:
        per_partition_total = statistics.mean(per_bar) * bars
        result |= {
            "sample_sessions": len(sample),
            "sample_bars": len(per_bar),
            "per_partition_run_median_s": round(statistics.median(per_bar), 3),
            "per_partition_run_mean_s": round(statistics.mean(per_bar), 3),
            "per_partition_total_s_extrapolated": round(per_partition_total, 1),
            "extrapolation": "per-partition total = mean s per bar run on the sample x bars",
            "speedup": round(per_partition_total / range_total, 2),
            "sample_speedup": round(sum(per_bar) / range_sample_s, 2),
            # CPU seconds of this process: what the runs cost without the other processes'
            # load (Dagster's SQLite writes and our work run in this process).
            "per_partition_cpu_s_per_bar": round(cpu["per_partition"] / len(per_bar), 4),
            "cpu_speedup": round(cpu["per_partition"] / len(per_bar) * bars / cpu["range"], 2),
            "sample_signals": len(live),
            "sample_signals_identical": bool(len(live) == len(ranged) and live.equals(ranged)),
        }
    if profiler is not None:
        result["range_profile"] = profile_areas(pstats.Stats(profiler))
        result["range_profile_clock"] = args.profile_clock
        profiler.dump_stats(args.profile_out)  # for `python -m pstats` (or snakeviz)
        result["range_profile_stats"] = args.profile_out
    return result


def rss_mib() -> int:
    """Peak RSS of this process so far, MiB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def profile_areas(stats: pstats.Stats) -> dict[str, dict[str, float]]:
    """Cumulative seconds inside each area's entry points, and their share of the total."""
    table = stats.stats  # type: ignore[attr-defined]  # {(file, line, name): (cc, nc, tt, ct, callers)}
    total = float(stats.total_tt)  # type: ignore[attr-defined]
    areas: dict[str, dict[str, float]] = {}
    for area, entries in PROFILE_AREAS.items():
        seconds = sum(
            values[3]
            for (path, _, name), values in table.items()
            if any(path.endswith(end) and name == fn for end, fn in entries)
        )
        areas[area] = {"s": round(seconds, 2), "share": round(seconds / total, 3)}
    areas["profiled_total"] = {"s": round(total, 2), "share": 1.0}
    return areas


if __name__ == "__main__":
    main()
