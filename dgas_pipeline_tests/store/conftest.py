"""Store fixtures: an engine on a database already migrated to head."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from dgas_pipeline.store.engine import make_engine
from dgas_pipeline.store.schema import ensure_schema


@pytest.fixture
def engine(db_url: str) -> Engine:
    """A migrated database, once on SQLite and once on PostgreSQL."""
    ensure_schema(db_url)
    return make_engine(db_url)
