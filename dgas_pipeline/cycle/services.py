"""What a cycle step needs, as plain objects: config, exchange clock, tables, providers,
the secret reader and the clock.

The Dagster resources build one per step from the values Dagster resolved (its `EnvVar`s);
the CLI and the tests build one from a `Location` directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from dgas_pipeline import clock
from dgas_pipeline.location import Location
from dgas_pipeline.notify.urls import SecretResolver
from dgas_pipeline.secrets import read_secret

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from dgas_pipeline.config import SchedulerConfig
    from dgas_pipeline.data.provider import BarProvider
    from dgas_pipeline.market import MarketHoursManager


@dataclass(frozen=True)
class CycleServices:
    """One deployment as a cycle step sees it.

    `database_url` and `api_key` are the values of `DGAS_DATABASE_URL` and the Polygon key
    as a Dagster resource resolved them; None reads the environment (`Location`).
    """

    location: Location
    database_url: str | None = None
    api_key: str | None = None
    secret: SecretResolver = read_secret
    now: Callable[[], datetime] = clock.now

    @property
    def settings(self) -> SchedulerConfig:
        return self.location.config

    @property
    def market(self) -> MarketHoursManager:
        return self.location.market

    def engine(self) -> Engine:
        """Our tables, migrated on first use in this process."""
        return self.location.engine(self.database_url)

    def providers(self) -> list[BarProvider]:
        """A fresh provider chain: close it after use (`data.close_providers`)."""
        return self.location.providers(self.api_key)
