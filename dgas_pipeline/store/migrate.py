"""Alembic, driven from Python: no `alembic.ini` to ship, find or keep in sync.

The migration scripts live in this package (`migrations/`), so an installed wheel can
create and upgrade its tables wherever `DGAS_DATABASE_URL` points. Each call runs inside one
transaction on our own engine, so the engine's settings (SQLite pragmas, a PostgreSQL
`search_path` given in the URL's `options`) decide where the tables go.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from dgas_pipeline.store.engine import make_engine, write_transaction

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

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
        return MigrationContext.configure(conn).get_current_revision()


@cache
def revisions() -> list[str]:
    """Every revision id, oldest first (what `dgas db downgrade` accepts besides `base`)."""
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def head_revision() -> str:
    """The newest revision this code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


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
        action(alembic_config(conn))
