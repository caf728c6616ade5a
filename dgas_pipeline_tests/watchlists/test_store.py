"""The `watchlists` table and its repository, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from dgas_pipeline.store.engine import make_engine
from dgas_pipeline.store.migrate import current_revision, downgrade, head_revision, upgrade
from dgas_pipeline.store.tables import metadata
from dgas_pipeline.watchlists import store
from dgas_pipeline.watchlists.errors import VersionConflict, WatchlistExists, WatchlistNotFound

INJECTION = "x'); DROP TABLE watchlists;--"


def _add(engine: Engine, name: str = "core", schedule: str = "every_bar") -> store.Watchlist:
    with engine.begin() as conn:
        return store.add_watchlist(conn, name, ["SPY", "AAPL"], schedule)


def test_migration_creates_the_table_as_tables_py_declares_it(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    assert "watchlists" in sa.inspect(engine).get_table_names()
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata)
    assert [d for d in diffs if "watchlists" in repr(d)] == []


def test_downgrading_below_the_watchlists_revision_drops_only_that_table(db_url: str) -> None:
    upgrade(db_url)
    assert current_revision(db_url) == head_revision()
    downgrade(db_url, "0002")
    tables = set(sa.inspect(make_engine(db_url)).get_table_names())
    assert "watchlists" not in tables
    assert "prediction_runs" in tables


def test_a_new_watchlist_is_enabled_at_version_1_with_no_run(engine: Engine) -> None:
    w = _add(engine)
    assert (w.name, w.symbols, w.schedule, w.enabled, w.version) == (
        "core",
        ("SPY", "AAPL"),
        "every_bar",
        True,
        1,
    )
    assert w.created_at == w.updated_at
    assert w.created_at.tzinfo is UTC
    assert (w.last_run_id, w.last_run_status, w.last_run_at) == (None, None, None)


def test_names_are_unique(engine: Engine) -> None:
    _add(engine)
    with pytest.raises(WatchlistExists, match="'core' is already a watchlist"):
        _add(engine)
    # The failed insert did not poison anything: the next transaction works.
    with engine.connect() as conn:
        assert [w.name for w in store.list_watchlists(conn)] == ["core"]


def test_list_is_by_name_and_can_keep_only_enabled_ones(engine: Engine) -> None:
    for name in ("zeta", "alpha", "mid"):
        _add(engine, name)
    with engine.begin() as conn:
        store.set_enabled(conn, "mid", False)
        assert [w.name for w in store.list_watchlists(conn)] == ["alpha", "mid", "zeta"]
        assert [w.name for w in store.list_watchlists(conn, enabled_only=True)] == [
            "alpha",
            "zeta",
        ]


def test_update_at_the_current_version_changes_only_given_fields(engine: Engine) -> None:
    before = _add(engine)
    with engine.begin() as conn:
        after = store.update_watchlist(conn, "core", expected_version=1, schedule="10:00")
    assert after.version == 2
    assert after.schedule == "10:00"
    assert after.symbols == before.symbols
    assert after.updated_at > before.updated_at
    assert after.created_at == before.created_at


def test_update_at_a_stale_version_is_a_conflict_and_changes_nothing(engine: Engine) -> None:
    _add(engine)
    with engine.begin() as conn:
        store.update_watchlist(conn, "core", expected_version=1, symbols=["QQQ"])
    with pytest.raises(VersionConflict) as raised, engine.begin() as conn:
        store.update_watchlist(conn, "core", expected_version=1, symbols=["IWM"])
    assert raised.value.current_version == 2
    with engine.connect() as conn:
        assert store.get_watchlist(conn, "core").symbols == ("QQQ",)


def test_update_without_changes_still_checks_the_version(engine: Engine) -> None:
    _add(engine)
    with engine.begin() as conn:
        assert store.update_watchlist(conn, "core", expected_version=1).version == 1
        with pytest.raises(VersionConflict):
            store.update_watchlist(conn, "core", expected_version=7)


def test_missing_watchlists_are_not_found(engine: Engine) -> None:
    with engine.begin() as conn:
        with pytest.raises(WatchlistNotFound, match="'ghost' is not a watchlist"):
            store.get_watchlist(conn, "ghost")
        with pytest.raises(WatchlistNotFound):
            store.update_watchlist(conn, "ghost", expected_version=1, schedule="10:00")
        with pytest.raises(WatchlistNotFound):
            store.set_enabled(conn, "ghost", True)
        with pytest.raises(WatchlistNotFound):
            store.remove_watchlist(conn, "ghost")
        assert store.find_watchlist(conn, "ghost") is None


def test_start_and_stop_are_idempotent_and_bump_the_version_only_on_change(
    engine: Engine,
) -> None:
    _add(engine)
    with engine.begin() as conn:
        assert store.set_enabled(conn, "core", True).version == 1
        stopped = store.set_enabled(conn, "core", False)
        assert (stopped.enabled, stopped.version) == (False, 2)
        assert store.set_enabled(conn, "core", False).version == 2


def test_remove_returns_the_row_and_honours_an_expected_version(engine: Engine) -> None:
    _add(engine)
    with engine.begin() as conn, pytest.raises(VersionConflict):
        store.remove_watchlist(conn, "core", expected_version=3)
    with engine.begin() as conn:
        assert store.remove_watchlist(conn, "core", expected_version=1).name == "core"
        assert store.list_watchlists(conn) == []


def test_record_run_notes_the_run_without_touching_the_version(engine: Engine) -> None:
    before = _add(engine, schedule="10:00")
    at = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    with engine.begin() as conn:
        assert store.record_run(conn, "core", "run-1", "SUCCESS", at)
        after = store.get_watchlist(conn, "core")
        assert not store.record_run(conn, "deleted-meanwhile", "run-2", "FAILED")
    assert (after.last_run_id, after.last_run_status, after.last_run_at) == (
        "run-1",
        "SUCCESS",
        at,
    )
    assert (after.version, after.updated_at) == (before.version, before.updated_at)


def test_the_database_refuses_an_unknown_run_status(engine: Engine) -> None:
    _add(engine)
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        store.record_run(conn, "core", "run-1", "MAYBE")


def test_an_injection_looking_name_is_stored_verbatim_never_executed(engine: Engine) -> None:
    # The service rejects such names; the repository binds whatever it gets as a value.
    w = _add(engine, INJECTION)
    with engine.connect() as conn:
        assert store.get_watchlist(conn, INJECTION).id == w.id
        assert [x.name for x in store.list_watchlists(conn)] == [INJECTION]
    assert "watchlists" in sa.inspect(engine).get_table_names()


def test_to_json_is_plain_json(engine: Engine) -> None:
    row = _add(engine).to_json()
    assert row["symbols"] == ["SPY", "AAPL"]
    assert row["created_at"].endswith("Z")
    assert row["last_run_at"] is None
