"""Migrations: up to head and back to base on both backends, and head equals `tables.py`."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from dgas_pipeline.store.engine import make_engine
from dgas_pipeline.store.migrate import current_revision, downgrade, head_revision, upgrade
from dgas_pipeline.store.tables import metadata

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


def test_a_new_database_has_no_revision(db_url: str) -> None:
    assert current_revision(db_url) is None


def test_upgrade_to_head_creates_every_table_and_records_head(db_url: str) -> None:
    upgrade(db_url)
    assert _tables(db_url) >= DGAS_TABLES
    assert current_revision(db_url) == head_revision() == "0003"


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
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


@pytest.mark.postgres
def test_postgres_tables_land_in_the_schema_of_the_url_only(pg_url: str) -> None:
    upgrade(pg_url)
    with make_engine(pg_url).connect() as conn:
        schema = conn.execute(sa.select(sa.func.current_schema())).scalar_one()
        in_schema = set(sa.inspect(conn).get_table_names(schema=schema))
        in_public = set(sa.inspect(conn).get_table_names(schema="public"))
    assert schema.startswith("t_")
    assert in_schema >= DGAS_TABLES | {"alembic_version"}
    assert in_public & DGAS_TABLES == set()
