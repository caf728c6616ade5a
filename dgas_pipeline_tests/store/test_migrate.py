"""Migrations: up to head and back to base on both backends, and head equals `tables.py`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from dgas_pipeline.alerts.delivery import alert_key
from dgas_pipeline.alerts.evaluate import AlertEvent
from dgas_pipeline.alerts.rules import RULE_NAME_PATTERN
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.store import repositories
from dgas_pipeline.store.engine import make_engine, write_transaction
from dgas_pipeline.store.migrate import (
    VERSION_TABLE,
    current_revision,
    downgrade,
    head_revision,
    revisions,
    script_revisions,
    upgrade,
)
from dgas_pipeline.store.tables import metadata, notification_log, prediction_runs
from dgas_pipeline.tickers import check_stored_ticker
from dgas_pipeline_tests.store.rows import run_row

DGAS_TABLES = {
    "prediction_runs",
    "generated_signals",
    "prediction_metrics",
    "scheduler_state",
    "notification_log",
    "alert_state",
    "watchlists",
}


def _tables(url: str) -> set[str]:
    return set(sa.inspect(make_engine(url)).get_table_names())


def test_the_revisions_known_without_alembic_are_the_migration_scripts() -> None:
    """The start-up check compares a database with these ids, not with the scripts: a script
    added without its id here would otherwise never be applied to a database at the old head."""
    assert revisions() == script_revisions()
    assert head_revision() == script_revisions()[-1]


def test_a_new_database_has_no_revision(db_url: str) -> None:
    assert current_revision(db_url) is None


def test_upgrade_to_head_creates_every_table_and_records_head(db_url: str) -> None:
    upgrade(db_url)
    assert _tables(db_url) >= DGAS_TABLES
    assert current_revision(db_url) == head_revision() == "0004"


def test_downgrade_to_base_drops_every_table(db_url: str) -> None:
    upgrade(db_url)
    downgrade(db_url, "base")
    assert _tables(db_url) & DGAS_TABLES == set()
    assert current_revision(db_url) is None


def test_upgrade_after_downgrade_recreates_the_tables(db_url: str) -> None:
    upgrade(db_url)
    downgrade(db_url, "base")
    upgrade(db_url)
    assert _tables(db_url) >= DGAS_TABLES


def test_upgrade_at_head_is_a_no_op(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)
    assert current_revision(db_url) == head_revision()


def test_migrated_schema_matches_the_table_definitions(db_url: str) -> None:
    upgrade(db_url)
    with make_engine(db_url).connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "version_table": VERSION_TABLE}
        )
        assert compare_metadata(context, metadata) == []


@pytest.mark.postgres
def test_postgres_tables_land_in_the_schema_of_the_url_only(pg_url: str) -> None:
    upgrade(pg_url)
    with make_engine(pg_url).connect() as conn:
        schema = conn.execute(sa.select(sa.func.current_schema())).scalar_one()
        in_schema = set(sa.inspect(conn).get_table_names(schema=schema))
        in_public = set(sa.inspect(conn).get_table_names(schema="public"))
    assert schema.startswith("t_")
    assert in_schema >= DGAS_TABLES | {VERSION_TABLE}
    assert in_public & DGAS_TABLES == set()


# 0004's widths, as a database reports them: (table, column) -> (before, after).
WIDENED = {
    ("prediction_runs", "partition_key"): (64, 128),
    ("prediction_runs", "run_id"): (128, 255),
}
LONG_KEY = f"{'w' * 64}:2026-11-20"  # a watchlist run of a 64-character name


def _widths(url: str) -> dict[tuple[str, str], int]:
    inspector = sa.inspect(make_engine(url))
    return {
        ("prediction_runs", column["name"]): column["type"].length
        for column in inspector.get_columns("prediction_runs")
        if ("prediction_runs", column["name"]) in WIDENED
    }


def _indexes_and_checks(url: str) -> dict[str, set[str | None]]:
    inspector = sa.inspect(make_engine(url))
    return {
        table: {i["name"] for i in inspector.get_indexes(table)}
        | {c["name"] for c in inspector.get_check_constraints(table)}
        | {u["name"] for u in inspector.get_unique_constraints(table)}
        for table in ("prediction_runs", "notification_log")
    }


def _keys(url: str) -> list[tuple[str, str]]:
    with make_engine(url).connect() as conn:
        runs = conn.execute(sa.select(prediction_runs.c.run_id, prediction_runs.c.partition_key))
        notes = conn.execute(sa.select(notification_log.c.message_key, notification_log.c.channel))
        return sorted([*map(tuple, runs), *map(tuple, notes)])


def test_0004_widens_the_key_columns_keeping_rows_constraints_and_indexes(db_url: str) -> None:
    upgrade(db_url, "0003")
    with write_transaction(make_engine(db_url)) as conn:
        repositories.record_run(conn, run_row())
        repositories.mark_notifications(conn, "console", ["eod:2025-03-10"], "SENT")
    before = _keys(db_url)
    kept = _indexes_and_checks(db_url)
    assert _widths(db_url) == {key: widths[0] for key, widths in WIDENED.items()}

    upgrade(db_url, "0004")

    assert _widths(db_url) == {key: widths[1] for key, widths in WIDENED.items()}
    assert _keys(db_url) == before
    assert _indexes_and_checks(db_url) == kept
    with pytest.raises(sa.exc.IntegrityError), write_transaction(make_engine(db_url)) as conn:
        repositories.record_run(conn, run_row(dagster_run_id="run-2", status="DONE"))


def test_0004_stores_the_longest_watchlist_run_and_alert_keys(db_url: str) -> None:
    upgrade(db_url)
    run_id = f"watchlist:{LONG_KEY}:0123abcd"
    rule, ticker = "r" * 64, "ABCDEFGHIJ"  # the longest a rule file may name
    assert re.fullmatch(RULE_NAME_PATTERN, rule) and check_stored_ticker(ticker, "t") == ticker
    assert not re.fullmatch(RULE_NAME_PATTERN, rule + "r")
    with pytest.raises(InvalidInput):
        check_stored_ticker(ticker + "K", "t")
    bar = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)
    event = AlertEvent(rule, ticker, bar, bar + timedelta(hours=1), "1h", "TRIGGERED", None)
    with write_transaction(make_engine(db_url)) as conn:
        repositories.record_run(
            conn, run_row(kind="watchlist", partition_key=LONG_KEY, run_id=run_id)
        )
        repositories.mark_notifications(conn, "console", [alert_key(event)], "SENT")
    assert _keys(db_url) == sorted([(run_id, LONG_KEY), (alert_key(event), "console")])


def test_0004_downgrade_refuses_while_a_longer_key_is_stored_then_round_trips(
    db_url: str,
) -> None:
    upgrade(db_url)
    with write_transaction(make_engine(db_url)) as conn:
        repositories.record_run(conn, run_row())
        repositories.record_run(
            conn, run_row(dagster_run_id="run-2", kind="watchlist", partition_key=LONG_KEY)
        )
    refused = (
        r"cannot downgrade below 0004: prediction_runs\.partition_key holds 1 value\(s\) "
        r"longer than 64 characters"
    )
    with pytest.raises(RuntimeError, match=refused):
        downgrade(db_url, "0003")
    assert current_revision(db_url) == "0004"  # the failed downgrade changed nothing

    with write_transaction(make_engine(db_url)) as conn:
        conn.execute(sa.delete(prediction_runs).where(prediction_runs.c.partition_key == LONG_KEY))
    kept = _keys(db_url)
    downgrade(db_url, "0003")
    assert current_revision(db_url) == "0003"
    assert _widths(db_url) == {key: widths[0] for key, widths in WIDENED.items()}
    assert _keys(db_url) == kept

    upgrade(db_url)
    assert _keys(db_url) == kept
    with make_engine(db_url).connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "version_table": VERSION_TABLE}
        )
        assert compare_metadata(context, metadata) == []
