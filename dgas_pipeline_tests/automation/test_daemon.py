"""End to end with real processes: `dagster-daemon` launches a cycle on the exchange clock.

The stepped pipeline clock (`DGAS_CLOCK_FILE`) stands just before 11:00 ET on Friday
2026-11-20, a past session. The sensor's first tick has no cursor and owes nothing; once it
has ticked, the clock is stepped to 11:00, when the 10:30 bar's cycle falls due, and the next
tick requests it; the queued run coordinator launches it, a run worker executes it, and the
run mirrors itself. Most of the time goes to the run's step processes.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from dgas_pipeline.store import tables
from dgas_pipeline.store.engine import dispose_engine, make_engine
from dgas_pipeline_tests.automation.conftest import et
from dgas_pipeline_tests.processes import open_site

DUE = et("2026-11-20 11:00")  # the 10:30 bar ends; no data delay by default
KEY = "2026-11-20-10:30"


def test_daemon_sensor_launches_the_due_cycle_through_the_queue_and_it_is_mirrored(
    tmp_path: Path,
) -> None:
    with open_site(tmp_path, DUE - timedelta(minutes=1)) as site:
        daemon = site.start_daemon()
        site.wait_for_tick_at(DUE - timedelta(minutes=1))
        assert site.runs() == []  # the first tick owes nothing
        site.set_clock(DUE)
        run = site.wait_for_run(run_key=f"cycle:{KEY}")
        assert run.status == dg.DagsterRunStatus.SUCCESS, site.logs()
        assert run.job_name == "prediction_cycle"
        assert {
            "dagster/sensor_name": "market_clock_sensor",
            "dagster/run_key": f"cycle:{KEY}",
            "dagster/partition": KEY,
            "dgas/launched_by": "sensor",
            "dgas/stale": "false",
            "dgas/concurrency": "pipeline",
        }.items() <= run.tags.items()
        queued = site.instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.RUN_ENQUEUED
        ).records
        assert len(queued) == 1  # through the run queue, not launched directly
        assert [r.run_id for r in site.runs()] == [run.run_id]  # one launch for one due cycle

        url = f"sqlite:///{site.home / 'dgas.db'}"
        try:
            with make_engine(url).connect() as conn:
                rows = [dict(r) for r in conn.execute(sa.select(tables.prediction_runs)).mappings()]
                state = dict(conn.execute(sa.select(tables.scheduler_state)).mappings().one())
        finally:
            dispose_engine(url)
        assert [
            (r["dagster_run_id"], r["partition_key"], r["kind"], r["status"], r["launched_by"])
            for r in rows
        ] == [(run.run_id, KEY, "cycle", "SUCCESS", "sensor")]
        assert state["status"] == "IDLE"

        assert daemon.stop() == 0  # a clean shutdown on SIGTERM
