"""Alembic environment for dgas tables.

Run from `dgas_pipeline.store.migrate`, which hands us an open connection inside its
transaction (config attribute "connection"), so the caller's engine settings (SQLite pragmas,
PostgreSQL search_path) apply to the migration too. The `alembic` command line also works when
given `-x url=...`; offline mode renders SQL for a DBA to review.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from dgas_pipeline.store.revisions import VERSION_TABLE
from dgas_pipeline.store.tables import metadata

config = context.config


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        version_table=VERSION_TABLE,  # not Dagster's `alembic_version` (see migrate.py)
    )


def run_migrations_offline() -> None:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    context.configure(
        url=url, target_metadata=metadata, literal_binds=True, version_table=VERSION_TABLE
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection: Connection | None = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return

    from dgas_pipeline.store.engine import database_url, make_engine

    url = context.get_x_argument(as_dictionary=True).get("url") or database_url()
    with make_engine(url).begin() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
