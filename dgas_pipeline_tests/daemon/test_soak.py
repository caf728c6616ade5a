"""The soak's CI version: a real daemon stepped through every launch of one session.

Black Friday 2025-11-28 closes at 13:00 ET: seven 30-min bars and an EOD at 13:20 (a past
session, so Dagster knows its partitions). The clock is stepped to each due instant in turn;
every planned launch must run exactly once, succeed, and be mirrored SUCCESS once in
prediction_runs, with nothing else launched. The full five-session soak is bench/soak.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from dgas_pipeline_tests.daemon.launches import before, planned
from dgas_pipeline_tests.daemon.soak import exactly_once_problems, one_run_each, soak
from dgas_pipeline_tests.processes import open_site

SESSION = date(2025, 11, 28)
MIDNIGHT = datetime(2025, 11, 28, tzinfo=UTC)  # before the session's first launch


def test_one_early_close_session_runs_every_planned_launch_exactly_once_and_mirrors_it(
    tmp_path: Path, figures: Callable[[str, Any], None]
) -> None:
    with open_site(tmp_path, MIDNIGHT) as site:
        launches = planned(site, SESSION, SESSION)
        assert [x.kind for x in launches] == ["cycle"] * 7 + ["eod"]
        assert launches[-1].partition_key == SESSION.isoformat()
        site.set_clock(before(launches[0]))
        daemon = site.start_daemon()
        site.wait_for_tick_at(before(launches[0]))
        report = soak(site, launches)
        assert exactly_once_problems(site, one_run_each(launches)) == [], site.logs()
        for name, value in report.figures().items():
            figures(name, value)
        figures("runs", len(site.runs()))
        assert daemon.stop() == 0
