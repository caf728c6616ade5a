"""Our own tables: SQLAlchemy Core definitions, Alembic migrations, small repositories.

Knows nothing of Dagster: the cycle services open a transaction and call `repositories`.
"""

from dgas_pipeline.store.engine import (
    database_url,
    dispose_engine,
    make_engine,
    normalize_url,
    redact_url,
    write_transaction,
)
from dgas_pipeline.store.schema import ensure_schema

__all__ = [
    "database_url",
    "dispose_engine",
    "ensure_schema",
    "make_engine",
    "normalize_url",
    "redact_url",
    "write_transaction",
]
