"""Tables at the newest revision before first use, whoever uses them first."""

from __future__ import annotations


def ensure_schema(url: str) -> None:
    """Bring the tables to the latest revision; one query when they already are."""
    from dgas_pipeline.store import migrate  # Alembic only when a database is opened

    if migrate.current_revision(url) != migrate.head_revision():
        migrate.upgrade(url)
