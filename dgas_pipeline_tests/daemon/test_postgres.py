"""Daemon + webserver on the real PostgreSQL, as deploy/README.md sets them up.

A fresh database (dropped afterwards) holds Dagster's storage (`deploy/dagster.yaml`,
dagster-postgres from `DAGSTER_POSTGRES_URL`) and our tables (`DGAS_DATABASE_URL`, created by
`dgas db upgrade` first, as the README says). With both services up, the stepped pipeline
clock reaches 11:00 ET on 2026-11-20, the 10:30 bar's due time: the sensor requests the
cycle, the queued run coordinator launches it, it succeeds and mirrors itself into the same
database, and the webserver's GraphQL shows the run and the sensor's tick that requested it.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from dgas_pipeline.store import tables
from dgas_pipeline.store.engine import dispose_engine, make_engine, normalize_url
from dgas_pipeline_tests.automation.conftest import et
from dgas_pipeline_tests.processes import BIN, PRODUCTION_INSTANCE, open_site

DUE = et("2026-11-20 11:00")
KEY = "2026-11-20-10:30"
CLI_TIMEOUT_S = 120
SENSOR_QUERY = """query ($name: String!) {
    sensorOrError(sensorSelector: {repositoryLocationName: "dgas_pipeline",
                                   repositoryName: "__repository__", sensorName: $name}) {
      ... on Sensor { name sensorState { status ticks(limit: 20) { status runIds } } }
    } }"""
RUN_QUERY = """query ($id: ID!) { runOrError(runId: $id) {
    ... on Run { runId jobName status tags { key value } } } }"""


@pytest.fixture
def fresh_database(pg_server_url: str) -> Iterator[str]:
    """A database of its own on the test server (Dagster's schema lives in `public`)."""
    name = f"dgas_it_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(
        normalize_url(make_url(pg_server_url).set(database="postgres").render_as_string(False)),
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        dispose_engine(url)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def dagster_url(url: str) -> str:
    """The URL as deploy/README.md writes DAGSTER_POSTGRES_URL: naming psycopg2."""
    return make_url(url).set(drivername="postgresql+psycopg2").render_as_string(False)


@pytest.mark.postgres
def test_daemon_and_webserver_on_postgres_launch_through_the_queue_and_mirror(
    tmp_path: Path, fresh_database: str
) -> None:
    url = fresh_database
    with open_site(
        tmp_path,
        DUE - timedelta(minutes=1),
        database_url=url,
        instance_yaml=PRODUCTION_INSTANCE,
        extra_env={"DAGSTER_POSTGRES_URL": dagster_url(url)},
    ) as site:
        upgrade = subprocess.run(
            [str(BIN / "dgas"), "db", "upgrade"],
            cwd=site.root,
            env=site.env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )
        assert upgrade.returncode == 0, upgrade.stderr[-3000:]
        assert type(site.instance.run_storage).__name__ == "PostgresRunStorage"

        site.start_webserver()
        daemon = site.start_daemon()
        site.wait_for_tick_at(DUE - timedelta(minutes=1))
        site.set_clock(DUE)
        run = site.wait_for_run(run_key=f"cycle:{KEY}")
        assert run.status == dg.DagsterRunStatus.SUCCESS, site.logs()
        events = [
            record.event_log_entry.dagster_event_type
            for record in site.instance.get_records_for_run(run.run_id).records
        ]
        assert events.count(dg.DagsterEventType.RUN_ENQUEUED) == 1
        assert events.index(dg.DagsterEventType.RUN_ENQUEUED) < events.index(
            dg.DagsterEventType.RUN_START
        )
        assert events.count(dg.DagsterEventType.RUN_SUCCESS) == 1
        assert dg.DagsterEventType.RUN_FAILURE not in events
        assert [r.run_id for r in site.runs()] == [run.run_id]

        with make_engine(url).connect() as conn:
            rows = conn.execute(
                sa.select(
                    tables.prediction_runs.c.dagster_run_id,
                    tables.prediction_runs.c.partition_key,
                    tables.prediction_runs.c.kind,
                    tables.prediction_runs.c.status,
                    tables.prediction_runs.c.launched_by,
                )
            ).all()
            database = conn.execute(sa.text("SELECT current_database()")).scalar_one()
        assert database == make_url(url).database
        assert [tuple(r) for r in rows] == [(run.run_id, KEY, "cycle", "SUCCESS", "sensor")]

        shown = site.graphql(RUN_QUERY, id=run.run_id)["runOrError"]
        assert (shown["runId"], shown["jobName"], shown["status"]) == (
            run.run_id,
            "prediction_cycle",
            "SUCCESS",
        )
        assert {"key": "dagster/run_key", "value": f"cycle:{KEY}"} in shown["tags"]
        sensor = site.graphql(SENSOR_QUERY, name="market_clock_sensor")["sensorOrError"]
        assert sensor["name"] == "market_clock_sensor"
        assert sensor["sensorState"]["status"] == "RUNNING"
        requesting = [t for t in sensor["sensorState"]["ticks"] if t["runIds"]]
        assert [(t["status"], t["runIds"]) for t in requesting] == [("SUCCESS", [run.run_id])]

        assert daemon.stop() == 0
