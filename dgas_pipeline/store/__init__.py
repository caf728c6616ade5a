"""Our own tables: SQLAlchemy Core definitions, Alembic migrations, small repositories.

Knows nothing of Dagster: `defs/` opens a transaction and calls `repositories`.
"""

from dgas_pipeline.store.engine import (
    database_url,
    dispose_engine,
    ensure_schema,
    make_engine,
    normalize_url,
    redact_url,
    write_transaction,
)

__all__ = [
    "database_url",
    "dispose_engine",
    "ensure_schema",
    "make_engine",
    "normalize_url",
    "redact_url",
    "write_transaction",
]
