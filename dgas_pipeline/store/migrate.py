"""Alembic, driven from Python: no `alembic.ini` to ship, find or keep in sync.

The migration scripts live in this package (`migrations/`), so an installed wheel can
create and upgrade its tables wherever `DGAS_DATABASE_URL` points. Each call runs inside one
transaction on our own engine, so the engine's settings (SQLite pragmas, a PostgreSQL
`search_path` given in the URL's `options`) decide where the tables go.

Our revision lives in `dgas_alembic_version`, not Alembic's default `alembic_version`:
deploy/README.md puts our tables in the same PostgreSQL database as Dagster's storage, and
dagster-postgres keeps its own revision in `alembic_version`, so sharing it made whichever
came second fail on the other's revision. A database migrated before the rename is adopted
on its next upgrade (our revision moved over, the old table dropped once it held only ours).
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from dgas_pipeline.store.engine import make_engine, write_transaction
from dgas_pipeline.store.revisions import (
    MIGRATIONS_DIR,
    VERSION_TABLE,
    head_revision,
    revisions,
)

# The revision ids live in `revisions` (the start-up checks read them without Alembic); they
# are re-exported here so callers driving migrations need one import.
__all__ = [
    "VERSION_TABLE",
    "alembic_config",
    "current_revision",
    "downgrade",
    "head_revision",
    "revisions",
    "script_revisions",
    "upgrade",
]

LEGACY_VERSION_TABLE = "alembic_version"

# Any constant works, as long as every dgas process uses the same one.
_PG_MIGRATION_LOCK = 0x64676173  # "dgas"


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the tables at `url` up to `revision` (default: the newest)."""
    _run(url, lambda cfg: command.upgrade(cfg, revision))


def downgrade(url: str, revision: str) -> None:
    """Migrate down to `revision`; "base" drops every dgas table (data included)."""
    _run(url, lambda cfg: command.downgrade(cfg, revision))


def current_revision(url: str) -> str | None:
    """The revision the database at `url` is at; None when it was never migrated."""
    with make_engine(url).connect() as conn:
        current = MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE}
        ).get_current_revision()
        if current is None:
            legacy = _legacy_revisions(conn)
            current = legacy[0] if len(legacy) == 1 else None
        return current


def script_revisions() -> list[str]:
    """Every revision id of the migration scripts, oldest first, as Alembic reads them:
    what `revisions.REVISIONS` must equal."""
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic `Config` built in code; `connection` is what `env.py` migrates."""
    cfg = Config()
    # ConfigParser interpolates '%': escape it in case the install path contains one.
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _run(url: str, action: Callable[[Config], None]) -> None:
    # write_transaction: on SQLite the write lock is taken first, so two processes starting
    # together queue instead of one failing. On PostgreSQL an advisory lock does the same,
    # and the second sees the first's committed version and has nothing left to do.
    with write_transaction(make_engine(url)) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
        _adopt_legacy_version_table(conn)
        action(alembic_config(conn))


def _legacy_revisions(conn: Connection) -> list[str]:
    """Our revision(s) in the pre-rename `alembic_version`; [] when it is absent or not ours
    (Dagster's own revision lives there on a shared PostgreSQL database)."""
    if not sa.inspect(conn).has_table(LEGACY_VERSION_TABLE):
        return []
    legacy = sa.table(LEGACY_VERSION_TABLE, sa.column("version_num"))
    found = list(conn.execute(select(legacy.c.version_num)).scalars())
    return found if found and set(found) <= set(revisions()) else []


def _adopt_legacy_version_table(conn: Connection) -> None:
    if sa.inspect(conn).has_table(VERSION_TABLE):
        return
    found = _legacy_revisions(conn)
    if not found:
        return
    version = sa.Table(
        VERSION_TABLE,
        sa.MetaData(),
        sa.Column("version_num", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("version_num", name=f"{VERSION_TABLE}_pkc"),
    )
    version.create(conn)
    conn.execute(version.insert(), [{"version_num": rev} for rev in found])
    sa.Table(LEGACY_VERSION_TABLE, sa.MetaData()).drop(conn)
