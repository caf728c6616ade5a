"""Which schema revisions this code knows, read without our engine.

Kept apart from `migrate` so the engine's start-up checks (is this database at a revision a
newer release wrote?) can ask without importing the module that drives the engine.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

VERSION_TABLE = "dgas_alembic_version"


def unknown_revision(conn: Connection) -> str | None:
    """The revision the database on `conn` is at when this code does not know it (a newer
    release migrated it), else None; reads only."""
    current = MigrationContext.configure(
        conn, opts={"version_table": VERSION_TABLE}
    ).get_current_revision()
    return current if current is not None and current not in revisions() else None


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
