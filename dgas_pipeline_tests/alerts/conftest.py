"""A database with the `alert_state` table, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from dgas_pipeline.store.engine import make_engine
from dgas_pipeline.store.migrate import upgrade

ALERT_STATE_REVISION = "0002"
"""The migration that adds `alert_state` (upgrading to it applies everything it needs)."""


@pytest.fixture
def engine(db_url: str) -> Engine:
    upgrade(db_url, ALERT_STATE_REVISION)
    return make_engine(db_url)
