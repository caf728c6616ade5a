"""A watchlist created over REST is run by the sensor at its time and shows in `dgas status`.

Also: an `every_bar` watchlist's tickers join the next cycle without a code reload.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import dagster as dg
import httpx
import pytest
import time_machine

from dgas_pipeline.api import create_app
from dgas_pipeline.cli.main import main
from dgas_pipeline.config import SchedulerConfig
from dgas_pipeline.store import tables
from dgas_pipeline_tests.api.conftest import live_server
from dgas_pipeline_tests.defs.conftest import CycleEnv

ET = "-05:00"


def _create(env: CycleEnv, body: dict[str, object]) -> None:
    app = create_app(env.db_url, None, config=SchedulerConfig())
    with live_server(app) as url:
        response = httpx.post(f"{url}/watchlists", json=body, timeout=10)
    assert response.status_code == 201, response.text


def test_watchlist_created_over_rest_runs_at_its_time_and_shows_in_status(
    cycle_env: CycleEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    cycle_env.configure(symbols=["SPY"])
    _create(cycle_env, {"name": "tech-noon", "symbols": ["AAPL", "MSFT"], "schedule": "12:00"})
    sensor_defs = cycle_env.defs
    assert sensor_defs is not None

    def tick(at: str, cursor: str) -> object:
        with (
            time_machine.travel(datetime.fromisoformat(at + ET), tick=False),
            dg.build_sensor_context(
                instance=cycle_env.instance,
                cursor=cursor + ET,
                definitions=sensor_defs,
                resources={"database": sensor_defs.resources["database"]},
            ) as context,
        ):
            return sensor_defs.resolve_sensor_def("watchlist_sensor")(context)

    before = tick("2026-11-20T11:59:30", "2026-11-20T11:59:00")
    assert before.run_requests == [] and "tech-noon" not in (before.skip_reason or "x:")
    due = tick("2026-11-20T12:00:30", "2026-11-20T11:59:30")
    (request,) = due.run_requests
    assert request.run_key == "watchlist:tech-noon:2026-11-20"
    holiday = tick("2026-11-26T12:00:30", "2026-11-26T11:59:30")
    assert holiday.run_requests == []

    with time_machine.travel(datetime.fromisoformat("2026-11-20T12:01:00" + ET), tick=True):
        result = sensor_defs.resolve_job_def("watchlist_job").execute_in_process(
            instance=cycle_env.instance, run_config=request.run_config, tags=request.tags
        )
    assert result.success
    (row,) = cycle_env.rows(tables.prediction_runs, tables.prediction_runs.c.kind == "watchlist")
    assert (row["partition_key"], row["status"], row["launched_by"]) == (
        "tech-noon:2026-11-20",
        "SUCCESS",
        "sensor",
    )
    assert row["symbols_requested"] == 2
    assert (row["bar_start"], row["bar_end"]) == (
        datetime.fromisoformat("2026-11-20T11:30:00" + ET),
        datetime.fromisoformat("2026-11-20T12:00:00" + ET),
    )
    (watchlist,) = cycle_env.rows(tables.watchlists)
    assert (watchlist["last_run_id"], watchlist["last_run_status"]) == (result.run_id, "SUCCESS")

    capsys.readouterr()
    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert "tech-noon:2026-11-20" in [r["partition_key"] for r in status["recent_runs"]]


def test_every_bar_watchlist_joins_the_next_cycle_without_a_reload(cycle_env: CycleEnv) -> None:
    cycle_env.configure(symbols=["SPY"])
    _create(cycle_env, {"name": "extra", "symbols": ["IWM"], "schedule": "every_bar"})
    at = datetime.fromisoformat("2026-11-20T11:02:00" + ET)
    with time_machine.travel(at, tick=True):
        result = cycle_env.run_cycle("2026-11-20-10:30")
    assert result.success
    (row,) = cycle_env.rows(
        tables.prediction_runs, tables.prediction_runs.c.partition_key == "2026-11-20-10:30"
    )
    assert row["symbols_requested"] == 2  # SPY from the config, IWM from the watchlist
    assert at - row["run_timestamp"] < timedelta(minutes=5)
