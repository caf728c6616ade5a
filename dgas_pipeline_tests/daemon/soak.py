"""The soak: a real daemon stepped through every planned launch of several sessions.

Shared by the CI test (one session) and bench/soak.py (five). For each session the clock is
stepped to each launch's due instant in turn, waiting only for the sensor to have seen it
(the queue then runs the session's runs one after another, as it would live); once the
session's runs are all finished, the RSS of the daemon and of its code server is sampled.
`exactly_once_problems(site, one_run_each(launches))` then lists every way the history
differs from the plan: a launch without its one successful run, a run nobody planned, a bar
or EOD not mirrored SUCCESS exactly once in prediction_runs.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from itertools import groupby
from typing import Any

import dagster as dg
import sqlalchemy as sa

from dgas_pipeline.market.planner import Launch
from dgas_pipeline.store import tables
from dgas_pipeline.store.engine import dispose_engine, make_engine
from dgas_pipeline_tests.daemon.launches import least_squares_slope, step_to
from dgas_pipeline_tests.processes import Site

SESSION_DEADLINE_S = 900  # every run of a full session, one after another, on a loaded machine


@dataclass
class SoakReport:
    """What the soak measured: RSS per session (MB) and the wall time of each session."""

    sessions: list[date] = field(default_factory=list)
    daemon_rss_mb: list[float] = field(default_factory=list)
    code_server_rss_mb: list[float] = field(default_factory=list)
    session_wall_s: list[float] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        def slope(values: list[float]) -> float | None:
            fitted = least_squares_slope(list(enumerate(values, start=1)))
            return None if fitted is None else round(fitted, 2)

        return {
            "sessions": [d.isoformat() for d in self.sessions],
            "daemon_rss_mb": [round(v, 1) for v in self.daemon_rss_mb],
            "code_server_rss_mb": [round(v, 1) for v in self.code_server_rss_mb],
            "daemon_rss_slope_mb_per_session": slope(self.daemon_rss_mb),
            "code_server_rss_slope_mb_per_session": slope(self.code_server_rss_mb),
            "session_wall_s": [round(v, 1) for v in self.session_wall_s],
        }


def soak(site: Site, launches: list[Launch]) -> SoakReport:
    """Step through `launches` (sorted by due) session by session; the daemon must be running
    and have ticked before the first launch."""
    report = SoakReport()
    for session, group in groupby(launches, key=lambda x: x.session):
        began = time.monotonic()
        for launch in group:
            step_to(site, launch, wait="tick")
        site.wait_until_idle(SESSION_DEADLINE_S)
        rss = site.rss()
        assert rss["daemon"] is not None and rss["code_server"] is not None, (rss, site.logs())
        report.sessions.append(session)
        report.daemon_rss_mb.append(rss["daemon"])
        report.code_server_rss_mb.append(rss["code_server"])
        report.session_wall_s.append(time.monotonic() - began)
    return report


def mirror_rows(site: Site) -> list[dict[str, Any]]:
    url = site.database_url
    try:
        with make_engine(url).connect() as conn:
            query = sa.select(tables.prediction_runs).order_by(tables.prediction_runs.c.id)
            return [dict(r) for r in conn.execute(query).mappings()]
    finally:
        dispose_engine(url)


def one_run_each(launches: list[Launch]) -> dict[str, list[tuple[str, str]]]:
    """The plan as run keys: each launch its own run, covering its own partition."""
    return {x.run_key: [(x.kind, x.partition_key)] for x in launches}


def exactly_once_problems(site: Site, expected: Mapping[str, list[tuple[str, str]]]) -> list[str]:
    """Every difference between the expected runs (run key -> the (kind, partition key) pairs
    it covers) and what ran; empty when each expected run ran once and succeeded, nothing
    else ran, and each covered partition is mirrored SUCCESS once, by its run."""
    problems = []
    runs = site.runs()
    by_key = Counter(r.tags.get("dagster/run_key") for r in runs)
    for run_key in expected:
        if by_key[run_key] != 1:
            problems.append(f"{run_key}: {by_key[run_key]} runs")
    for key in sorted(set(by_key) - set(expected), key=str):
        problems.append(f"unexpected run key {key!r}: {by_key[key]} runs")
    for run in runs:
        if run.status != dg.DagsterRunStatus.SUCCESS:
            problems.append(f"run {run.run_id} ({run.tags.get('dagster/run_key')}): {run.status}")
    run_of_key = {r.tags.get("dagster/run_key"): r.run_id for r in runs}
    rows = mirror_rows(site)
    mirrored = Counter((r["kind"], r["partition_key"]) for r in rows)
    covered = {pair: key for key, pairs in expected.items() for pair in pairs}
    for pair, run_key in covered.items():
        if mirrored[pair] != 1:
            problems.append(f"{pair} of {run_key}: {mirrored[pair]} mirror rows")
            continue
        (row,) = [r for r in rows if (r["kind"], r["partition_key"]) == pair]
        if row["status"] != "SUCCESS" or row["dagster_run_id"] != run_of_key.get(run_key):
            problems.append(f"{pair}: mirrored {row['status']} for run {row['dagster_run_id']}")
    for pair in sorted(set(mirrored) - set(covered)):
        problems.append(f"unexpected mirror row {pair}: {mirrored[pair]}")
    return problems
