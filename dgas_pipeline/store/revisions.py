"""Which schema revisions this code knows, and which one a database is at: read without
Alembic.

Every command that opens our tables asks whether they are current (the CLI's start-up check,
`WatchlistService.open`, a run's first use). Importing Alembic and parsing every migration
script to answer cost more than `dgas watchlist list` itself, so the ids are written here
once; a test asserts they are exactly the chain of the migration scripts, so the two cannot
drift. Alembic is imported only when a database is behind (`migrate`).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

VERSION_TABLE = "dgas_alembic_version"

REVISIONS: tuple[str, ...] = ("0001", "0002", "0003", "0004")
"""Every revision id of `migrations/versions`, oldest first."""
HEAD_REVISION = REVISIONS[-1]


def revisions() -> list[str]:
    """Every revision id, oldest first (what `dgas db downgrade` accepts besides `base`)."""
    return list(REVISIONS)


def head_revision() -> str:
    """The newest revision this code knows."""
    return HEAD_REVISION


def stored_revisions(conn: Connection) -> list[str]:
    """The ids in our version table; [] when it has none (a new database, or one migrated
    before the table's rename, which `migrate` adopts). Reads only."""
    if not sa.inspect(conn).has_table(VERSION_TABLE):
        return []
    version = sa.table(VERSION_TABLE, sa.column("version_num"))
    return list(conn.execute(sa.select(version.c.version_num)).scalars())


def is_current(conn: Connection) -> bool:
    """Whether the database on `conn` is at the newest revision: nothing to migrate."""
    return stored_revisions(conn) == [HEAD_REVISION]


def unknown_revision(conn: Connection) -> str | None:
    """The revision the database on `conn` is at when this code does not know it (a newer
    release migrated it), else None; reads only."""
    return next((rev for rev in stored_revisions(conn) if rev not in REVISIONS), None)
