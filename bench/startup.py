"""Start-up cost: `python bench/startup.py [--runs N]` prints one JSON document.

Every figure is the median wall time of N fresh processes, beside the median of its floor
(what the command cannot beat: the interpreter, or the libraries its work needs), measured in
the same run with the runs interleaved, so a busy machine slows both alike:

- `dgas --help`, `dgas plan --help`: floor `python -c pass`, goal <= 0.6 s;
- `dgas plan` over two years, `dgas calendar`, `dgas config validate`, `dgas alerts validate`,
  `dgas watchlist list`: floor `import pandas, exchange_calendars`, goal <= floor + 0.6 s;
- the same plan below the command line (config, exchange clock, plan, JSON): what the
  library costs, whatever the command line in front of it imports;
- the code location's load (importing `dgas_pipeline.definitions`, building the definitions
  and resolving them into the repository Dagster serves): floor
  `import dagster, pandas, exchange_calendars`, goal <= floor + 1.0 s.

Each case also lists the heavy libraries it imported (from one `-X importtime` run), which is
what the figures come down to. The commands run through the installed `dgas` entry point in
an empty directory with a fresh DAGSTER_HOME and no DGAS_CONFIG. Our package's bytecode is
compiled first, as an installed wheel has it: with PYTHONDONTWRITEBYTECODE=1 a checkout would
otherwise compile our modules again in every process, which no deployment pays.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
DGAS = str(BIN / "dgas")
PYTHON = sys.executable
HEAVY = (
    "pandas",
    "numpy",
    "exchange_calendars",
    "dagster",
    "matplotlib",
    "jsonschema",
    "sqlalchemy",
    "alembic",
    "httpx",
)

RULES = """\
alerts:
  - name: spy-breakout
    symbols: [SPY]
    timeframe: 30min
    when:
      all:
        - {field: close, op: crosses_above, ref: {indicator: {type: envelope, output: upper}}}
        - {not: {field: volume, op: lt, value: 100000}}
    rearm: {cooldown_minutes: 120, hysteresis: 0.25, persistence_bars: 1}
    channels: [console]
"""
# `dgas plan` below the command line: the config, the exchange clock and the plan, printed.
PLAN = """
import json
from datetime import date
from dgas_pipeline.config import load_config
from dgas_pipeline.location import market_for
from dgas_pipeline.market import plan_launches

config = load_config()
launches = plan_launches(
    market_for(config), date(2025, 1, 1), date(2026, 12, 31), config.plan_settings
)
print(json.dumps([launch.to_json() for launch in launches]))
"""
LOAD = "import dgas_pipeline.definitions as location; location.defs().get_repository_def()"


@dataclass(frozen=True)
class Floor:
    name: str
    argv: tuple[str, ...]


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]
    floor: Floor
    budget_s: float
    """Seconds over the floor the goal allows (for `--help`: in all, floor included)."""
    absolute: bool = False


BARE = Floor("python -c pass", (PYTHON, "-c", "pass"))
TABLES = Floor(
    "import pandas, exchange_calendars", (PYTHON, "-c", "import pandas, exchange_calendars")
)
DAGSTER = Floor(
    "import dagster, pandas, exchange_calendars",
    (PYTHON, "-c", "import dagster, pandas, exchange_calendars"),
)
CASES = (
    Case("dgas --help", (DGAS, "--help"), BARE, 0.6, absolute=True),
    Case("dgas plan --help", (DGAS, "plan", "--help"), BARE, 0.6, absolute=True),
    Case(
        "dgas plan (2 years)",
        (DGAS, "plan", "--start", "2025-01-01", "--end", "2026-12-31", "--json"),
        TABLES,
        0.6,
    ),
    Case("plan (2 years), no CLI", (PYTHON, "-c", PLAN), TABLES, 0.6),
    Case("dgas calendar", (DGAS, "calendar", "2026-03-09", "--json"), TABLES, 0.6),
    Case("dgas config validate", (DGAS, "config", "validate", "--json"), TABLES, 0.6),
    Case("dgas alerts validate", (DGAS, "alerts", "validate", "rules.yaml"), TABLES, 0.6),
    Case("dgas watchlist list", (DGAS, "watchlist", "list", "--json"), TABLES, 0.6),
    Case("code location load", (PYTHON, "-c", LOAD), DAGSTER, 1.0),
)


def run(argv: tuple[str, ...], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return elapsed


def heavy_imports(argv: tuple[str, ...], cwd: Path, env: dict[str, str]) -> list[str]:
    """The heavy top-level packages `argv` imports, read from its `-X importtime` lines."""
    done = subprocess.run(
        argv, cwd=cwd, env={**env, "PYTHONPROFILEIMPORTTIME": "1"}, capture_output=True, text=True
    )
    imported = {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    return [name for name in HEAVY if name in imported]


def compile_package() -> None:
    """Write our modules' bytecode (the package `dgas` runs), as installing a wheel does."""
    spec = importlib.util.find_spec("dgas_pipeline")
    assert spec is not None and spec.origin is not None
    compileall.compile_dir(Path(spec.origin).parent, quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="processes per figure (median)")
    parser.add_argument(
        "--only", action="append", default=None, help="run only cases whose name contains this"
    )
    args = parser.parse_args()
    cases = [c for c in CASES if not args.only or any(o in c.name for o in args.only)]
    floors = list(dict.fromkeys(case.floor for case in cases))
    compile_package()
    with tempfile.TemporaryDirectory(prefix="dgas-startup-") as tmp:
        cwd = Path(tmp)
        (cwd / "home").mkdir()
        (cwd / "rules.yaml").write_text(RULES, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k not in ("DGAS_CONFIG", "PYTHONPATH")}
        env.update(DAGSTER_HOME=str(cwd / "home"), PYTHONWARNINGS="ignore")
        programs = [*(f.argv for f in floors), *(c.argv for c in cases)]
        for argv in programs:  # warm the byte-code caches and the home; not counted
            run(argv, cwd, env)
        times: dict[tuple[str, ...], list[float]] = {argv: [] for argv in programs}
        for _ in range(args.runs):  # interleaved: a busy machine slows floor and case alike
            for argv in programs:
                times[argv].append(run(argv, cwd, env))
        medians = {argv: statistics.median(ts) for argv, ts in times.items()}
        figures = []
        for case in cases:
            floor = medians[case.floor.argv]
            median = medians[case.argv]
            limit = case.budget_s if case.absolute else floor + case.budget_s
            figures.append(
                {
                    "case": case.name,
                    "median_s": round(median, 3),
                    "floor": case.floor.name,
                    "floor_median_s": round(floor, 3),
                    "over_floor_s": round(median - floor, 3),
                    "ratio": round(median / floor, 2),
                    "goal_s": round(limit, 3),
                    "goal": f"<= {case.budget_s} s"
                    if case.absolute
                    else f"<= floor + {case.budget_s} s",
                    "meets_goal": median <= limit,
                    "heavy_imports": heavy_imports(case.argv, cwd, env),
                }
            )
    print(
        json.dumps(
            {
                "runs": args.runs,
                "cpus": os.cpu_count(),
                "load_average_1m": round(os.getloadavg()[0], 2),
                "floors": {f.name: round(medians[f.argv], 3) for f in floors},
                "cases": figures,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
