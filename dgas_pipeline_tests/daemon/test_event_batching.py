"""Batched event writes reach the runs the daemon launches from a backfill, on PostgreSQL.

Nothing in the services' environment sets `DAGSTER_EVENT_BATCH_SIZE` (the site passes no
DAGSTER_ variable but its home and storage URL). `dgas backfill` without `--wait` records a
Dagster backfill of Friday's session; the daemon's backfill loop creates the range run, the
queue launches it through the code server, and its run worker writes the events. How they
were written shows in PostgreSQL: dagster-postgres sends a NOTIFY on `run_events` for each
event it stores alone, and none for a batch of materialisations stored in one INSERT.
"""

from __future__ import annotations

import json
import select
import subprocess
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
from dagster._core.execution.backfill import BulkActionStatus
from sqlalchemy.engine import make_url

from dgas_pipeline_tests.automation.conftest import et
from dgas_pipeline_tests.daemon.test_postgres import CLI_TIMEOUT_S, dagster_url
from dgas_pipeline_tests.daemon.test_postgres import fresh_database as fresh_database
from dgas_pipeline_tests.processes import BIN, PRODUCTION_INSTANCE, open_site

SATURDAY_NOON = et("2026-11-21 12:00")
DAY = "2026-11-20"
BACKFILL_DEADLINE_S = 600.0
RANGE_START = "dagster/asset_partition_range_start"


def dgas(site: object, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "dgas"), *argv],
        cwd=site.root,  # type: ignore[attr-defined]
        env=site.env,  # type: ignore[attr-defined]
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


@pytest.mark.postgres
def test_a_daemon_launched_backfill_run_writes_its_materialisations_in_batches(
    tmp_path: Path, fresh_database: str
) -> None:
    url = fresh_database
    with open_site(
        tmp_path,
        SATURDAY_NOON,
        config={"catchup_sessions": 0},  # the sensor launches nothing of Friday itself
        database_url=url,
        instance_yaml=PRODUCTION_INSTANCE,
        extra_env={"DAGSTER_POSTGRES_URL": dagster_url(url)},
    ) as site:
        assert "DAGSTER_EVENT_BATCH_SIZE" not in site.env
        upgrade = dgas(site, "db", "upgrade")
        assert upgrade.returncode == 0, upgrade.stderr[-3000:]
        listener = psycopg2.connect(make_url(url).render_as_string(hide_password=False))
        listener.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
        notified: set[str] = set()
        try:
            listener.cursor().execute("LISTEN run_events")
            site.start_daemon()
            submitted = dgas(site, "backfill", "--start", DAY, "--end", DAY, "--json")
            assert submitted.returncode == 0, submitted.stderr[-3000:]
            backfill_id = json.loads(submitted.stdout)["backfill_id"]

            def finished() -> bool | None:
                select.select([listener], [], [], 0.5)
                listener.poll()
                notified.update(n.payload for n in listener.notifies)
                listener.notifies.clear()
                backfill = site.instance.get_backfill(backfill_id)
                done = backfill is not None and backfill.status != BulkActionStatus.REQUESTED
                return True if done and all(r.is_finished for r in site.runs()) else None

            site.wait_for(finished, f"backfill {backfill_id} done", BACKFILL_DEADLINE_S)
        finally:
            listener.close()

        runs = site.runs(**{"dagster/backfill": backfill_id})
        assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}, site.logs()
        # The cycle assets' single-run backfill policy: the session's bars in one range run.
        (cycle,) = [r for r in runs if RANGE_START in r.tags]
        assert cycle.tags[RANGE_START] == f"{DAY}-09:30"

        records = site.instance.get_records_for_run(cycle.run_id, limit=100_000).records
        materialized = {
            f"{cycle.run_id}_{r.storage_id}"
            for r in records
            if r.event_log_entry.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
        }
        stored_alone = {
            f"{cycle.run_id}_{r.storage_id}"
            for r in records
            if r.event_log_entry.dagster_event_type == dg.DagsterEventType.RUN_START
        }
        assert len(materialized) >= 13 * 4  # the session's bars, for each asset
        assert stored_alone <= notified  # the listener heard the run's single writes
        assert not materialized & notified  # and none of its materialisations
