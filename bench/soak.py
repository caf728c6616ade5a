"""Soak with the real daemon: `python bench/soak.py [--first D --last D]`, one JSON
line.

A real `dagster-daemon` serves a temp site (the repo's dagster.yaml, synthetic data) whose
pipeline clock is stepped through every planned launch of the sessions from `--first` to
`--last` (default 2025-11-24..2025-12-01: four full sessions around Thanksgiving, the holiday
itself and the 13:00 early close after it; past sessions, so Dagster knows the partitions).
After each session the RSS of the daemon and of its code server is sampled. The output has
the RSS series with their least-squares slopes (MB per session), the plan's size, the runs,
and `problems`: every way the history differs from "each planned launch ran exactly once,
succeeded, and is mirrored SUCCESS once" (empty when it held). Exit 1 when there are any.
The CI version is dgas_pipeline_tests/daemon/test_soak.py (one session).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from datetime import UTC, date, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dgas_pipeline_tests.daemon.launches import before, finish, planned  # noqa: E402
from dgas_pipeline_tests.daemon.soak import exactly_once_problems, one_run_each, soak  # noqa: E402
from dgas_pipeline_tests.processes import open_site  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=date.fromisoformat, default=date(2025, 11, 24))
    parser.add_argument("--last", type=date.fromisoformat, default=date(2025, 12, 1))
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    root = Path(tempfile.mkdtemp(prefix="dgas-soak-"))
    began = time.monotonic()
    midnight = datetime(args.first.year, args.first.month, args.first.day, tzinfo=UTC)
    with open_site(root, midnight) as site:
        launches = planned(site, args.first, args.last)
        site.set_clock(before(launches[0]))
        site.start_daemon()
        site.wait_for_tick_at(before(launches[0]))
        start_rss = site.rss()
        report = soak(site, launches)
        problems = exactly_once_problems(site, one_run_each(launches))
        runs = len(site.runs())
        stopped = site.stop("daemon")
    result = {
        "planned_launches": len(launches),
        "planned_eods": sum(x.kind == "eod" for x in launches),
        "runs": runs,
        "problems": problems,
        "daemon_rss_mb_at_start": round(start_rss["daemon"] or 0, 1),
        "code_server_rss_mb_at_start": round(start_rss["code_server"] or 0, 1),
        **report.figures(),
        "daemon_exit_code": stopped,
        "wall_s": round(time.monotonic() - began, 1),
    }
    print(json.dumps(result))
    return finish(root, ok=not problems and stopped == 0)


if __name__ == "__main__":
    sys.exit(main())
