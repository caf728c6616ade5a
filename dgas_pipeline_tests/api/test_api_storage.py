"""The REST API against a live server on each backend: CRUD, 409 on concurrent edits with
nothing lost, injection-looking names that touch nothing, and /status from our tables."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa

from dgas_pipeline.api import create_app
from dgas_pipeline.config import SchedulerConfig
from dgas_pipeline.store import repositories as repo
from dgas_pipeline.store.engine import make_engine, write_transaction
from dgas_pipeline_tests.api.conftest import CORE, TOKEN, fields, live_server


@pytest.fixture
def api_url(db_url: str) -> Iterator[str]:
    """Here the API runs over each backend: these tests are about what gets stored."""
    with live_server(create_app(db_url, TOKEN, config=SchedulerConfig())) as url:
        yield url


INJECTIONS = [
    "x'); DROP TABLE watchlists;--",
    "core' OR '1'='1",
    "core; DELETE FROM watchlists",
    '"; DROP TABLE prediction_runs; --',
    "core%27",
]


def test_crud_round_trip(client: httpx.Client) -> None:
    created = client.post("/watchlists", json={**CORE, "schedule": "10:00"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["name"], body["symbols"], body["schedule"], body["enabled"], body["version"]) == (
        "core",
        ["SPY", "AAPL"],
        "10:00",
        True,
        1,
    )
    assert [w["name"] for w in client.get("/watchlists").json()] == ["core"]
    assert client.get("/watchlists/core").json() == body

    patched = client.patch("/watchlists/core", json={"version": 1, "symbols": ["QQQ"]})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["symbols"], patched.json()["version"]) == (["QQQ"], 2)

    stopped = client.post("/watchlists/core/stop")
    assert (stopped.status_code, stopped.json()["enabled"]) == (200, False)
    started = client.post("/watchlists/core/start")
    assert (started.status_code, started.json()["enabled"], started.json()["version"]) == (
        200,
        True,
        4,
    )

    deleted = client.delete("/watchlists/core")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert client.get("/watchlists/core").status_code == 404
    assert client.get("/watchlists").json() == []


def test_duplicate_name_is_409(client: httpx.Client) -> None:
    assert client.post("/watchlists", json=CORE).status_code == 201
    again = client.post("/watchlists", json=CORE)
    assert again.status_code == 409
    assert again.json()["field"] == "name"


def test_delete_with_a_stale_version_is_409(client: httpx.Client) -> None:
    client.post("/watchlists", json=CORE)
    client.post("/watchlists/core/stop")
    stale = client.delete("/watchlists/core", params={"version": 1})
    assert (stale.status_code, stale.json()["current_version"]) == (409, 2)
    assert client.delete("/watchlists/core", params={"version": 2}).status_code == 204


@pytest.mark.parametrize("name", INJECTIONS)
def test_injection_looking_names_are_422_and_touch_nothing(
    client: httpx.Client, db_url: str, name: str
) -> None:
    client.post("/watchlists", json=CORE)
    assert fields(client.post("/watchlists", json={"name": name, "symbols": ["SPY"]})) == ["name"]
    quoted = quote(name, safe="")
    for method in ("GET", "DELETE"):
        assert fields(client.request(method, f"/watchlists/{quoted}")) == ["name"]
    assert fields(client.patch(f"/watchlists/{quoted}", json={"version": 1})) == ["name"]
    assert fields(client.post(f"/watchlists/{quoted}/stop")) == ["name"]
    assert [w["name"] for w in client.get("/watchlists").json()] == ["core"]
    tables = set(sa.inspect(make_engine(db_url)).get_table_names())
    assert {"watchlists", "prediction_runs"} <= tables


def test_two_concurrent_patches_one_wins_one_gets_409_nothing_lost(
    client: httpx.Client, api_url: str
) -> None:
    client.post("/watchlists", json={**CORE, "symbols": ["SPY"]})
    barrier = threading.Barrier(2)
    answers: dict[str, httpx.Response] = {}

    def patch(symbol: str) -> None:
        with httpx.Client(base_url=api_url, headers=client.headers, timeout=30) as own:
            barrier.wait()
            answers[symbol] = own.patch(
                "/watchlists/core", json={"version": 1, "symbols": ["SPY", symbol]}
            )

    threads = [threading.Thread(target=patch, args=(s,)) for s in ("QQQ", "IWM")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(r.status_code for r in answers.values()) == [200, 409]
    (winner,) = [s for s, r in answers.items() if r.status_code == 200]
    (loser,) = [s for s, r in answers.items() if r.status_code == 409]
    conflict = answers[loser].json()
    assert (conflict["field"], conflict["current_version"]) == ("version", 2)
    now = client.get("/watchlists/core").json()
    assert (now["symbols"], now["version"]) == (["SPY", winner], 2)
    # The loser re-reads and merges: both edits end up in the watchlist.
    merged = client.patch(
        "/watchlists/core", json={"version": now["version"], "symbols": [*now["symbols"], loser]}
    )
    assert merged.status_code == 200
    assert (merged.json()["symbols"], merged.json()["version"]) == (["SPY", winner, loser], 3)


def test_status_reads_our_tables(client: httpx.Client, db_url: str) -> None:
    empty = client.get("/status")
    assert empty.status_code == 200
    body = empty.json()
    assert body["scheduler_state"] == {"status": "IDLE"}
    assert body["recent_runs"] == []
    assert body["next_launch"]["kind"] in ("cycle", "eod")
    assert body["next_launch"]["due"] > datetime.now(UTC).isoformat()[:19]

    with write_transaction(make_engine(db_url)) as conn:
        repo.set_scheduler_state(conn, status="RUNNING", current_run_id="r1")
        repo.record_run(
            conn,
            {
                "run_id": "r1",
                "run_timestamp": datetime(2026, 11, 27, 15, 1, tzinfo=UTC),
                "interval_type": "30min",
                "status": "SUCCESS",
                "dagster_run_id": "r1",
                "partition_key": "watchlist:core:2026-11-27",
                "kind": "watchlist",
                "launched_by": "sensor",
            },
        )
    body = client.get("/status").json()
    assert (body["scheduler_state"]["status"], body["scheduler_state"]["current_run_id"]) == (
        "RUNNING",
        "r1",
    )
    (run,) = body["recent_runs"]
    assert (run["kind"], run["status"], run["run_timestamp"]) == (
        "watchlist",
        "SUCCESS",
        "2026-11-27T15:01:00Z",
    )
