"""End-to-end cycle benchmark: `dgas run-once` in a subprocess, per stage, per provider, per size.

    python bench/cycle_e2e.py [--symbols 50,500,5000] [--providers synthetic,files]
        [--repeats 3] [--code LABEL=DIR ...] [--profile DIR]

Each run is the real CLI, `dgas run-once --at 2026-11-18T15:35:00-05:00 --symbols <N tickers>
--json`, in a fresh process on a fresh `DAGSTER_HOME` (SQLite storage and tables), with a
generated config raising `max_symbols_per_cycle` to the largest N. Providers:

* `synthetic`: the default provider (bars computed in the run).
* `files`: one Parquet file per ticker (ts, open, high, low, close, volume; ts UTC), written
  first by this bench from the synthetic provider into a temp directory (15 sessions up to
  the cycle's session, so the run filters its 10-session history out of longer files).

Per case it reports the medians of `--repeats` runs of the run-once `timings_ms`
(data_fetch_ms, indicator_calc_ms, signal_generation_ms, notification_ms,
execution_time_ms), the wall time of the subprocess and its peak RSS (`os.wait4`, so each
run's own peak), and how each stage grows per 10x symbols ((t2/t1) ** (1/log10(n2/n1)): 10
is linear). Runs are interleaved (repeat, size, provider, code) so machine noise spreads over
all cases; the load average before and after is in the output.

`--code LABEL=DIR` (repeatable) runs the `dgas_pipeline` package found in DIR instead of this
checkout's (same virtualenv, PYTHONPATH=DIR): e.g. an extracted older commit, to measure
before and after side by side. `--profile DIR` also runs every case once under cProfile
(untimed) and writes `<code>-<provider>-<N>.prof` there.

Notification stage: the console channel, which gets a cycle's signals as one batch; the
2026-11-18 bar is stale by now, so its signals are recorded STALE in bulk and not printed, one
delivery row each.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import statistics
import string
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dgas_pipeline.data import SyntheticProvider
from dgas_pipeline.data.provider import VALUE_COLUMNS
from dgas_pipeline.market import MarketHoursManager
from dgas_pipeline.market.bars import history_start

AT = "2026-11-18T15:35:00-05:00"
STAGES = (
    "data_fetch_ms",
    "indicator_calc_ms",
    "signal_generation_ms",
    "notification_ms",
    "execution_time_ms",
)
GOAL = {"symbols": 5000, "execution_time_ms": 10_000, "peak_rss_mb": 1536}
FILE_SESSIONS = 15
# Environment that would point a run at another instance, database or config.
FOREIGN_ENV = ("DGAS_DATABASE_URL", "DAGSTER_POSTGRES_URL", "DGAS_CONFIG", "DAGSTER_HOME")
# Runs `dgas` with the given argv; under cProfile when PROFILE_OUT is set.
LAUNCHER = """
import cProfile, os, sys
from dgas_pipeline.cli.main import run
sys.argv = ["dgas", *sys.argv[1:]]
out = os.environ.pop("PROFILE_OUT", "")
if not out:
    run()
profiler = cProfile.Profile()
try:
    profiler.runcall(run)
finally:
    profiler.dump_stats(out)
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", default="50,500,5000", help="comma-separated sizes")
    parser.add_argument("--providers", default="synthetic,files")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--code", action="append", default=[], metavar="LABEL=DIR")
    parser.add_argument("--profile", type=Path, metavar="DIR")
    args = parser.parse_args(argv)

    sizes = sorted(int(n) for n in args.symbols.split(","))
    providers = args.providers.split(",")
    codes = dict(_label_dir(text) for text in args.code) or {"this": None}
    tickers = _tickers(sizes[-1])
    load_before = os.getloadavg()

    with tempfile.TemporaryDirectory(prefix="dgas-e2e-") as work_dir:
        work = Path(work_dir)
        files_dir, files_written_s = work / "bars", 0.0
        if "files" in providers:
            started = time.perf_counter()
            _write_parquet(files_dir, tickers)
            files_written_s = time.perf_counter() - started
        configs = {p: _config(work, p, files_dir, sizes[-1]) for p in providers}

        runs: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
        for _, n, provider, label in itertools.product(
            range(args.repeats), sizes, providers, codes
        ):
            one = _run(work, codes[label], configs[provider], tickers[:n])
            runs.setdefault((label, provider, n), []).append(one)
        profiles = {}
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            for n, provider, label in itertools.product(sizes, providers, codes):
                out = args.profile / f"{label}-{provider}-{n}.prof"
                _run(work, codes[label], configs[provider], tickers[:n], profile=out)
                profiles[f"{label}/{provider}/{n}"] = str(out)

    results = [_summary(label, provider, n, rs) for (label, provider, n), rs in runs.items()]
    report = {
        "at": AT,
        "sizes": sizes,
        "repeats": args.repeats,
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "files_written_s": round(files_written_s, 1),
        "goal": GOAL,
        "notes": {
            "notification_ms": "console channel, the signals as one batch (stale here: "
            "recorded in bulk, not printed)",
            "growth_per_10x": "(t2/t1) ** (1/log10(n2/n1)): 10 = linear in symbols",
        },
        "results": results,
        "growth_per_10x": _growth(results, sizes),
        "meets_goal": {
            f"{r['code']}/{r['provider']}": r["median"]["execution_time_ms"]
            <= GOAL["execution_time_ms"]
            and r["median"]["peak_rss_mb"] <= GOAL["peak_rss_mb"]
            for r in results
            if r["symbols"] == GOAL["symbols"] and r["median"]["execution_time_ms"] is not None
        },
        **({"profiles": profiles} if profiles else {}),
    }
    print(json.dumps(report, indent=1))
    return 0


def _label_dir(text: str) -> tuple[str, Path]:
    label, sep, directory = text.partition("=")
    path = Path(directory)
    if not sep or not label or not (path / "dgas_pipeline").is_dir():
        raise SystemExit(f"cycle_e2e: --code: {text!r} is not LABEL=DIR with DIR/dgas_pipeline")
    return label, path.resolve()


def _tickers(n: int) -> list[str]:
    """N distinct four-letter tickers, the same ones in every run (AAAA, AAAB, ...)."""
    letters = string.ascii_uppercase
    return ["".join(t) for t in itertools.islice(itertools.product(letters, repeat=4), n)]


def _write_parquet(directory: Path, tickers: list[str]) -> None:
    """The files provider's input: the synthetic bars of FILE_SESSIONS sessions per ticker."""
    directory.mkdir()
    market = MarketHoursManager("XNYS")
    at = datetime.fromisoformat(AT)
    start = history_start(market, at, FILE_SESSIONS)
    end = market.local(at).replace(hour=0, minute=0) + timedelta(days=1)
    batch = SyntheticProvider(market).fetch_many(tickers, start, end, "30min").bars
    per = len(batch) // len(tickers)
    ts = pa.array(batch["ts"])
    values = {c: batch[c].to_numpy() for c in VALUE_COLUMNS}
    for i, ticker in enumerate(tickers):
        rows = slice(i * per, (i + 1) * per)
        table = pa.table({"ts": ts[rows], **{c: v[rows] for c, v in values.items()}})
        pq.write_table(table, directory / f"{ticker}.parquet")


def _config(work: Path, provider: str, files_dir: Path, max_symbols: int) -> Path:
    chain: dict[str, Any] = {"chain": [provider]}
    if provider == "files":
        chain["files_dir"] = str(files_dir)
    path = work / f"{provider}.yaml"
    # JSON is YAML.
    path.write_text(json.dumps({"max_symbols_per_cycle": max_symbols, "provider": chain}))
    return path


def _run(
    work: Path, code: Path | None, config: Path, tickers: list[str], profile: Path | None = None
) -> dict[str, Any]:
    """One run-once in a fresh process on a fresh instance: its JSON, wall time, peak RSS."""
    home = Path(tempfile.mkdtemp(prefix="home-", dir=work))
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV}
    env["DAGSTER_HOME"] = str(home)
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(code), env.get("PYTHONPATH", "")]).rstrip(":")
    if profile is not None:
        env["PROFILE_OUT"] = str(profile)
    argv = [sys.executable, "-c", LAUNCHER, "run-once", "--json", "--config", str(config)]
    argv += ["--at", AT, "--symbols", ",".join(tickers)]
    with open(home / "stdout", "w+b") as out, open(home / "stderr", "w+b") as err:
        started = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=home)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode()
        err.seek(0)
        tail = err.read().decode()[-2000:]
    try:
        result = json.loads(text)
    except json.JSONDecodeError as bad:
        why = f"cycle_e2e: run-once gave no JSON (exit {child.returncode}):\n{tail}"
        raise SystemExit(why) from bad
    return {
        "status": result.get("status"),
        "exit": child.returncode,
        "signals": result.get("signals"),
        "symbols_processed": result.get("symbols_processed"),
        "timings_ms": result.get("timings_ms", {}),
        "wall_ms": round(wall * 1000),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux: kilobytes
    }


def _summary(label: str, provider: str, n: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    def median(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return round(statistics.median(known), 1) if known else None

    series: dict[str, list[Any]] = {
        stage: [r["timings_ms"].get(stage) for r in runs] for stage in STAGES
    }
    series["wall_ms"] = [r["wall_ms"] for r in runs]
    series["peak_rss_mb"] = [r["peak_rss_mb"] for r in runs]
    return {
        "code": label,
        "provider": provider,
        "symbols": n,
        "statuses": sorted({str(r["status"]) for r in runs}),
        "signals": runs[-1]["signals"],
        "symbols_processed": runs[-1]["symbols_processed"],
        "median": {name: median(values) for name, values in series.items()},
        "all": series,
    }


def _growth(results: list[dict[str, Any]], sizes: list[int]) -> dict[str, Any]:
    by_case = {(r["code"], r["provider"], r["symbols"]): r["median"] for r in results}
    growth: dict[str, Any] = {}
    for code, provider in dict.fromkeys((r["code"], r["provider"]) for r in results):
        steps: dict[str, dict[str, float | None]] = {}
        for small, big in itertools.pairwise(sizes):
            a, b = by_case[(code, provider, small)], by_case[(code, provider, big)]
            for stage in (*STAGES, "wall_ms", "peak_rss_mb"):
                t1, t2 = a[stage], b[stage]
                ratio = None
                if t1 and t2:
                    ratio = round((t2 / t1) ** (1 / math.log10(big / small)), 2)
                steps.setdefault(stage, {})[f"{small}->{big}"] = ratio
        growth[f"{code}/{provider}"] = steps
    return growth


if __name__ == "__main__":
    raise SystemExit(main())
