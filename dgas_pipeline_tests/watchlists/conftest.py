"""Watchlist fixtures: a migrated database on each backend, and the NYSE clock."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from dgas_pipeline.market import MarketHoursManager
from dgas_pipeline.store.engine import make_engine
from dgas_pipeline.store.schema import ensure_schema
from dgas_pipeline.watchlists.service import WatchlistService


@pytest.fixture(scope="session")
def market() -> MarketHoursManager:
    return MarketHoursManager("XNYS")


@pytest.fixture
def engine(db_url: str) -> Engine:
    """A database migrated to head, once on SQLite and once on PostgreSQL."""
    ensure_schema(db_url)
    return make_engine(db_url)


@pytest.fixture
def service(engine: Engine, market: MarketHoursManager) -> WatchlistService:
    return WatchlistService(engine, market)
