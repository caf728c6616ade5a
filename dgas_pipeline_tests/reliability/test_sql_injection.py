"""SQL-looking input is a value, never SQL: through the CLI and the REST API it is rejected
(exit 2 / 422, naming the field), through the store it is kept verbatim, from a provider's
error text it is recorded verbatim; every table exists afterwards and nothing else changed.
On SQLite and PostgreSQL.

Already covered elsewhere, not repeated here: injection-looking watchlist NAMES through the
REST API (api/test_api_storage.py) and a signal's symbol and a run's id through the store
(store/test_repositories.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from dgas_pipeline.alerts.state import AlertState
from dgas_pipeline.alerts.store import get_alert_states, save_alert_states
from dgas_pipeline.store import repositories as repo
from dgas_pipeline.store import tables
from dgas_pipeline.store.engine import make_engine
from dgas_pipeline.store.migrate import VERSION_TABLE
from dgas_pipeline.store.schema import ensure_schema
from dgas_pipeline.watchlists import store as watchlist_store
from dgas_pipeline_tests.api.conftest import client_with_core, fields
from dgas_pipeline_tests.automation.conftest import Deployment
from dgas_pipeline_tests.data.fake_polygon import FakePolygon, Reply
from dgas_pipeline_tests.deployment import run_dgas as dgas
from dgas_pipeline_tests.reliability.conftest import isolate_env

INJECTIONS = [
    "x'); DROP TABLE generated_signals;--",
    'x"); DROP TABLE watchlists;--',
    "'; DELETE FROM prediction_runs; --",
    "a' OR '1'='1'; DROP TABLE notification_log",
    "1; DROP TABLE alert_state",
    "core'/**/OR/**/1=1--",
]
OURS = set(tables.metadata.tables) | {VERSION_TABLE}
AT = "2026-11-20T11:05:00-05:00"


def assert_intact(url: str, watchlists: list[str]) -> None:
    """Every table of ours exists, and the watchlists are exactly these."""
    engine = make_engine(url)
    assert set(sa.inspect(engine).get_table_names()) >= OURS
    with engine.connect() as conn:
        names = [w.name for w in watchlist_store.list_watchlists(conn)]
        for table in tables.metadata.sorted_tables:  # each one answers a query
            conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    assert names == watchlists


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    """`dgas` on `db_url`, with one watchlist `core` to leave untouched."""
    isolate_env(monkeypatch, tmp_path)
    monkeypatch.setenv("DGAS_DATABASE_URL", db_url)
    code, _, err = dgas("watchlist", "add", "core", "--symbols", "SPY,AAPL", "--json")
    assert code == 0, err


@pytest.mark.usefixtures("cli")
@pytest.mark.parametrize("payload", INJECTIONS)
def test_the_cli_rejects_sql_looking_names_and_symbols_and_changes_nothing(
    db_url: str, payload: str
) -> None:
    attempts = [
        (("watchlist", "add", payload, "--symbols", "SPY"), "name"),
        (("watchlist", "add", "other", "--symbols", f"SPY,{payload}"), "symbols[1]"),
        (("watchlist", "show", payload), "name"),
        (("watchlist", "update", "core", "--symbols", payload), "symbols[0]"),
        (("watchlist", "update", payload, "--schedule", "10:00"), "name"),
        (("watchlist", "stop", payload), "name"),
        (("watchlist", "remove", payload), "name"),
        (("run-once", "--at", AT, "--symbols", payload), "symbols[0]"),
        (("bars", payload, "--start", "2026-11-20", "--end", "2026-11-20"), "SYMBOL"),
    ]
    for argv, field in attempts:
        code, out, err = dgas(*argv, "--json")
        assert (code, out) == (2, ""), (argv, err)
        assert err.startswith(f"dgas: {field}: "), (argv, err)
        assert "Traceback" not in err
    assert_intact(db_url, ["core"])
    with make_engine(db_url).connect() as conn:
        core = watchlist_store.get_watchlist(conn, "core")
        assert (core.symbols, core.version) == (("SPY", "AAPL"), 1)
        assert conn.execute(sa.select(tables.prediction_runs)).all() == []


@pytest.fixture
def api(db_url: str) -> Iterator[httpx.Client]:
    with client_with_core(db_url) as client:
        yield client


@pytest.mark.parametrize("payload", INJECTIONS)
def test_the_api_rejects_sql_looking_symbols_schedules_and_versions(
    api: httpx.Client, db_url: str, payload: str
) -> None:
    assert fields(api.post("/watchlists", json={"name": "b", "symbols": ["SPY", payload]})) == [
        "symbols[1]"
    ]
    assert fields(
        api.post("/watchlists", json={"name": "b", "symbols": ["SPY"], "schedule": payload})
    ) == ["schedule"]
    assert fields(api.patch("/watchlists/core", json={"version": 1, "symbols": [payload]})) == [
        "symbols[0]"
    ]
    assert fields(api.delete("/watchlists/core", params={"version": payload})) == ["version"]
    assert_intact(db_url, ["core"])
    core = api.get("/watchlists/core").json()
    assert (core["symbols"], core["version"]) == (["SPY"], 1)


def test_the_store_keeps_sql_looking_values_verbatim_in_every_table(db_url: str) -> None:
    """Below validation (a future caller, a migration script): values, never statements."""
    ensure_schema(db_url)
    engine = make_engine(db_url)
    at = datetime(2026, 11, 20, 16, tzinfo=UTC)
    with engine.begin() as conn:
        for i, payload in enumerate(INJECTIONS):
            watchlist_store.add_watchlist(conn, payload, [payload, "SPY"], "every_bar")
            assert watchlist_store.record_run(conn, payload, payload, "FAILED", at)
            assert repo.claim_notifications(conn, payload[:64], [(payload, None)]) == [payload]
            repo.mark_notifications(conn, payload[:64], [payload], "FAILED", error=payload)
            repo.upsert_metrics(
                conn,
                [
                    {
                        "metric_type": payload,
                        "metric_value": float(i),
                        "aggregation_period": "daily",
                        "period_start": at,
                        "metadata": {payload: payload},
                    }
                ],
            )
            state = AlertState(rule=payload, symbol=payload[:32], last_bar_evaluated=at)
            assert save_alert_states(conn, [state]) == 1
        repo.set_scheduler_state(
            conn, status="ERROR", current_run_id=INJECTIONS[0], error_message=INJECTIONS[1]
        )
        watchlist_store.update_watchlist(
            conn, INJECTIONS[0], expected_version=1, symbols=[INJECTIONS[-1]]
        )
        watchlist_store.remove_watchlist(conn, INJECTIONS[1])

    kept = [p for p in INJECTIONS if p != INJECTIONS[1]]
    assert_intact(db_url, sorted(kept))
    with engine.connect() as conn:
        for payload in kept:
            stored = watchlist_store.get_watchlist(conn, payload)
            assert (stored.name, stored.last_run_id) == (payload, payload)
            expected = (INJECTIONS[-1],) if payload == INJECTIONS[0] else (payload, "SPY")
            assert stored.symbols == expected
        for payload in INJECTIONS:
            assert repo.notification_status(conn, payload, payload[:64]) == "FAILED"
            [metric] = repo.metrics(conn, payload, "daily", at)
            assert metric["metadata"] == {payload: payload}
            states = get_alert_states(conn, [payload])
            assert states[(payload, payload[:32])].last_bar_evaluated == at
        errors = conn.execute(sa.select(tables.notification_log.c.last_error)).scalars().all()
        assert sorted(errors) == sorted(INJECTIONS)
        state = repo.get_scheduler_state(conn)
        assert state is not None
        assert (state["current_run_id"], state["error_message"]) == tuple(INJECTIONS[:2])


def test_a_provider_error_text_that_looks_like_sql_is_recorded_verbatim(
    deployment_on_each_db: Deployment,
) -> None:
    """Text an outside server controls (its error body) reaches the run's `errors` as text."""
    env = deployment_on_each_db
    server = FakePolygon()
    server.reply(Reply(500, INJECTIONS[0]))
    server.start()
    try:
        env.monkeypatch.setenv("POLYGON_API_KEY", "test-key")
        env.configure(
            symbols=["AAPL"],
            provider={
                "chain": ["polygon"],
                "polygon_base_url": server.base_url,
                "max_retries": 0,
            },
        )
        code, summary, err = env.dgas("run-once", "--at", AT, "--json")
    finally:
        server.stop()
    assert (code, summary["status"]) == (0, "PARTIAL"), err
    [row] = env.runs()
    [error] = row["errors"]
    assert error.startswith("AAPL: polygon: HTTP 500 (") and INJECTIONS[0] in error
    assert_intact(env.db_url, [])
    assert row["errors"] == summary["errors"]
