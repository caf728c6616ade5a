"""The longest names the validators accept still fit the keys derived from them.

A watchlist run is mirrored under `<name>:<date>`: with a 64-character name (the most the
REST API accepts) that key is 75 characters, more than `prediction_runs.partition_key` held
before migration 0004. PostgreSQL enforces column widths (SQLite does not), so the run goes
through the real sensor, job and mirror on both backends.
"""

from __future__ import annotations

from datetime import datetime

import dagster as dg
import httpx
import time_machine

from dgas_pipeline.api import create_app
from dgas_pipeline.config import SchedulerConfig
from dgas_pipeline.store import tables
from dgas_pipeline_tests.api.conftest import live_server
from dgas_pipeline_tests.defs.conftest import CycleEnv

ET = "-05:00"
LONGEST_NAME = "n" * 64


def test_a_64_character_watchlist_name_is_accepted_run_and_mirrored(cycle_env: CycleEnv) -> None:
    cycle_env.configure(symbols=["SPY"])
    app = create_app(cycle_env.db_url, None, config=SchedulerConfig())
    with live_server(app) as url:
        body = {"name": LONGEST_NAME, "symbols": ["AAPL"], "schedule": "12:00"}
        created = httpx.post(f"{url}/watchlists", json=body, timeout=10)
        too_long = httpx.post(
            f"{url}/watchlists", json={**body, "name": LONGEST_NAME + "n"}, timeout=10
        )
    assert created.status_code == 201, created.text
    assert too_long.status_code == 422, too_long.text  # 64 is the validators' maximum

    watchlist_sensor = cycle_env.defs.resolve_sensor_def("watchlist_sensor")
    with (
        time_machine.travel(datetime.fromisoformat("2026-11-20T12:00:30" + ET), tick=False),
        dg.build_sensor_context(
            instance=cycle_env.instance,
            cursor="2026-11-20T11:59:30" + ET,
            definitions=cycle_env.defs,
            resources={"database": cycle_env.defs.resources["database"]},
        ) as context,
    ):
        (request,) = watchlist_sensor(context).run_requests
    with time_machine.travel(datetime.fromisoformat("2026-11-20T12:01:00" + ET), tick=True):
        result = cycle_env.defs.resolve_job_def("watchlist_job").execute_in_process(
            instance=cycle_env.instance, run_config=request.run_config, tags=request.tags
        )

    assert result.success
    key = f"{LONGEST_NAME}:2026-11-20"
    (row,) = cycle_env.rows(tables.prediction_runs, tables.prediction_runs.c.kind == "watchlist")
    assert (row["partition_key"], row["status"]) == (key, "SUCCESS")
    assert row["run_id"] == f"watchlist:{key}:{result.run_id[:8]}"
    (watchlist,) = cycle_env.rows(tables.watchlists)
    assert (watchlist["name"], watchlist["last_run_status"]) == (LONGEST_NAME, "SUCCESS")
