"""`market_clock_sensor`, the real sensor, evaluated at fixed instants on a real instance.

2026-11-27 closes at 13:00 (bars 09:30..12:30, the last cycle due 13:00, EOD 13:20), default
config: no data delay, stale after 60 minutes, catch up 5 sessions.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import dagster as dg
import pytest
import time_machine
from dagster._core.definitions.sensor_definition import SensorExecutionData

from dgas_pipeline_tests.automation.conftest import Deployment, alerts_failing, et

DAY = "2026-11-27"
BARS = ("09:30", "10:00", "10:30", "11:00", "11:30", "12:00", "12:30")
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def evaluate(env: Deployment, cursor: datetime | None, now: datetime) -> SensorExecutionData:
    """One tick of the sensor at `now`, as the daemon runs it, with the cursor it left."""
    with time_machine.travel(now, tick=False):
        context = dg.build_sensor_context(
            instance=env.instance,
            cursor=cursor.isoformat() if cursor else None,
            definitions=env.defs,
        )
        return env.defs.resolve_sensor_def("market_clock_sensor").evaluate_tick(context)


def run_keys(result: SensorExecutionData) -> list[str]:
    return [r.run_key for r in result.run_requests or []]


def execute(env: Deployment, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    """Run a request the way the run launcher would: its job, partition (or range) and tags."""
    assert request.job_name is not None
    return env.run_job(request.job_name, request.partition_key, dict(request.tags))


# -- what one tick requests -----------------------------------------------------------------------


def test_a_bar_close_requests_its_cycle_once_with_a_stable_run_key(deployment: Deployment) -> None:
    now = et(f"{DAY} 11:30:05")
    result = evaluate(deployment, et(f"{DAY} 11:29:35"), now)
    (request,) = result.run_requests or []
    assert request.run_key == f"cycle:{DAY}-11:00"
    assert request.job_name == "prediction_cycle"
    assert request.partition_key == f"{DAY}-11:00"
    assert {"dgas/launched_by": "sensor", "dgas/stale": "false"}.items() <= request.tags.items()
    assert RANGE_START not in request.tags
    assert datetime.fromisoformat(result.cursor or "") == now
    assert result.skip_message is None


def test_the_eod_is_requested_20_minutes_after_the_early_close(deployment: Deployment) -> None:
    result = evaluate(deployment, et(f"{DAY} 13:19:35"), et(f"{DAY} 13:20:05"))
    (request,) = result.run_requests or []
    assert (request.run_key, request.job_name, request.partition_key) == (
        f"eod:{DAY}",
        "eod_job",
        DAY,
    )
    assert request.tags["dgas/launched_by"] == "sensor"


def test_thanksgiving_tick_skips_with_the_reason_and_advances_the_cursor(
    deployment: Deployment,
) -> None:
    now = et("2026-11-26 10:00")
    result = evaluate(deployment, et("2026-11-26 09:59:30"), now)
    assert not result.run_requests
    assert result.skip_message == "market closed: Thanksgiving; next open Fri 2026-11-27 09:30 ET"
    assert datetime.fromisoformat(result.cursor or "") == now


def test_the_first_tick_owes_nothing_and_says_what_comes_next(deployment: Deployment) -> None:
    now = et(f"{DAY} 11:30:05")
    result = evaluate(deployment, None, now)
    assert not result.run_requests
    assert result.skip_message == f"next cycle {DAY} 12:00 ET ({DAY}-11:30)"
    assert datetime.fromisoformat(result.cursor or "") == now


def test_a_missed_session_is_one_range_run_and_its_eod(deployment: Deployment) -> None:
    result = evaluate(deployment, et(f"{DAY} 09:00"), et(f"{DAY} 15:00"))
    cycle, eod = result.run_requests or []
    assert cycle.run_key == f"cycle-range:{DAY}-09:30..{DAY}-12:30"
    assert cycle.job_name == "prediction_cycle"
    assert cycle.partition_key is None
    assert {
        RANGE_START: f"{DAY}-09:30",
        RANGE_END: f"{DAY}-12:30",
        "dgas/launched_by": "sensor",
        "dgas/stale": "true",
    }.items() <= cycle.tags.items()
    assert (eod.run_key, eod.partition_key, eod.tags["dgas/stale"]) == (f"eod:{DAY}", DAY, "true")


# -- catch-up against what other launchers already ran --------------------------------------------


def test_catch_up_drops_a_bar_the_cli_already_ran_and_splits_the_range_around_it(
    deployment: Deployment,
) -> None:
    with time_machine.travel(et(f"{DAY} 11:35"), tick=True):
        code, summary, _ = deployment.dgas("run-once", "--at", f"{DAY}T11:35-05:00", "--json")
    assert (code, summary["partition_key"], summary["status"]) == (0, f"{DAY}-11:00", "SUCCESS")

    result = evaluate(deployment, et(f"{DAY} 09:00"), et(f"{DAY} 15:00"))
    assert run_keys(result) == [
        f"cycle-range:{DAY}-09:30..{DAY}-10:30",
        f"cycle-range:{DAY}-11:30..{DAY}-12:30",
        f"eod:{DAY}",
    ]

    # Executing what the sensor asked for fills the session, mirrored as the sensor's runs.
    with time_machine.travel(et(f"{DAY} 15:00"), tick=True):
        for request in result.run_requests or []:
            assert execute(deployment, request).success, request.run_key
    by_partition = {(r["partition_key"], r["status"], r["launched_by"]) for r in deployment.runs()}
    assert by_partition == {
        *((f"{DAY}-{bar}", "SUCCESS", "sensor") for bar in BARS if bar != "11:00"),
        (f"{DAY}-11:00", "SUCCESS", "cli"),
        (DAY, "SUCCESS", "sensor"),
    }
    assert len(deployment.runs()) == len(BARS) + 1

    # A restarted daemon with the old cursor finds everything done.
    again = evaluate(deployment, et(f"{DAY} 09:00"), et(f"{DAY} 15:05"))
    assert not again.run_requests
    assert again.skip_message == "everything owed has already run"


def test_catch_up_reruns_a_bar_whose_alerts_failed(deployment: Deployment, tmp_path: Path) -> None:
    with alerts_failing(deployment, tmp_path), time_machine.travel(et(f"{DAY} 11:35"), tick=True):
        deployment.dgas("run-once", "--at", f"{DAY}T11:35-05:00", "--json")
    notified = deployment.instance.get_materialized_partitions(dg.AssetKey("notifications"))
    assert f"{DAY}-11:00" in notified

    result = evaluate(deployment, et(f"{DAY} 09:00"), et(f"{DAY} 15:00"))
    assert run_keys(result) == [f"cycle-range:{DAY}-09:30..{DAY}-12:30", f"eod:{DAY}"]


def test_live_requests_are_kept_while_a_stale_bar_already_run_is_dropped(
    deployment: Deployment,
) -> None:
    with time_machine.travel(et(f"{DAY} 11:35"), tick=True):
        assert deployment.dgas("run-once", "--at", f"{DAY}T11:35-05:00", "--json")[0] == 0
    # 11:00 bar due 11:30 (75 min late: stale, done); 11:30 and 12:00 bars still live.
    result = evaluate(deployment, et(f"{DAY} 11:29:50"), et(f"{DAY} 12:45"))
    assert run_keys(result) == [f"cycle:{DAY}-11:30", f"cycle:{DAY}-12:00"]
    assert all(r.tags["dgas/stale"] == "false" for r in result.run_requests or [])


def test_executing_a_live_request_is_mirrored_as_launched_by_the_sensor(
    deployment: Deployment,
) -> None:
    result = evaluate(deployment, et(f"{DAY} 11:29:35"), et(f"{DAY} 11:30:05"))
    (request,) = result.run_requests or []
    with time_machine.travel(et(f"{DAY} 11:30:05"), tick=True):
        run = execute(deployment, request)
    assert run.success
    (row,) = deployment.runs()
    assert (row["partition_key"], row["kind"], row["status"], row["launched_by"]) == (
        f"{DAY}-11:00",
        "cycle",
        "SUCCESS",
        "sensor",
    )
    assert row["dagster_run_id"] == run.run_id


# -- the tick stays off the network ---------------------------------------------------------------


@pytest.fixture
def silent_listener() -> Iterator[socket.socket]:
    """A loopback port that accepts connections into its backlog and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield sock
    finally:
        sock.close()


def test_the_tick_never_touches_the_provider(
    deployment: Deployment, silent_listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = silent_listener.getsockname()[1]
    monkeypatch.delenv("POLYGON_API_KEY", raising=False)
    deployment.configure(
        provider={
            "chain": ["polygon"],
            "polygon_base_url": f"http://127.0.0.1:{port}",
            "request_timeout_seconds": 30,
            "max_retries": 0,
        }
    )
    result = evaluate(deployment, et(f"{DAY} 09:00"), et(f"{DAY} 11:30:05"))
    assert run_keys(result) == [
        f"cycle-range:{DAY}-09:30..{DAY}-10:00",
        f"cycle:{DAY}-10:30",
        f"cycle:{DAY}-11:00",
    ]
    silent_listener.setblocking(False)
    with pytest.raises(BlockingIOError):  # nobody ever connected
        silent_listener.accept()
