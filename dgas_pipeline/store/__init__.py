"""Our own tables: SQLAlchemy Core definitions, Alembic migrations, small repositories.

Knows nothing of Dagster: the cycle services open a transaction and call `repositories`.

Names are imported on first use (`lazy_exports`), so a module of this package that needs no
SQLAlchemy (`schema`, which imports Alembic only when a database is opened) stays light.
"""

from __future__ import annotations

from dgas_pipeline.lazy_exports import lazy_exports

_EXPORTS = {
    "database_url": "engine",
    "dispose_engine": "engine",
    "make_engine": "engine",
    "normalize_url": "engine",
    "redact_url": "engine",
    "write_transaction": "engine",
    "ensure_schema": "schema",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
