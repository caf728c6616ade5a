"""Tables at the newest revision before first use, whoever uses them first."""

from __future__ import annotations


def ensure_schema(url: str) -> None:
    """Bring the tables to the latest revision: one query, and no Alembic, when they already
    are (every command and run opening a database pays this check)."""
    # SQLAlchemy only when a database is opened, Alembic only when it is behind.
    from dgas_pipeline.store.engine import make_engine
    from dgas_pipeline.store.revisions import is_current

    with make_engine(url).connect() as conn:
        if is_current(conn):
            return
    from dgas_pipeline.store import migrate

    if migrate.current_revision(url) != migrate.head_revision():
        migrate.upgrade(url)
