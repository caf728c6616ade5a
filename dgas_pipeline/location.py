"""What a deployment runs with: the config, the exchange clock built from it, the bar
providers and our tables. The one place that builds them.

Built once per process and config file (the code server, `dagster dev`, a run worker, the
CLI), so the partitions, the sensor and the runs of one process always agree. A test builds
one from a config object (`Location.from_config`) instead of a file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from dgas_pipeline.config import SchedulerConfig, load_config

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from dgas_pipeline.data.provider import BarProvider
    from dgas_pipeline.market import MarketHoursManager

CONFIG_ENV = "DGAS_CONFIG"


@dataclass(frozen=True, eq=False)
class Location:
    """One deployment's config and exchange clock; compared (and cached) by identity."""

    config: SchedulerConfig
    market: MarketHoursManager

    @classmethod
    def from_config(cls, config: SchedulerConfig, overrides_file: str | None = None) -> Location:
        return cls(config, market_for(config, overrides_file))

    def database_url(self, explicit: str | None = None) -> str:
        """Where our tables are: `explicit` (the value of `DGAS_DATABASE_URL` a Dagster
        resource resolved), else the environment, else the config, else SQLite in
        DAGSTER_HOME; normalised."""
        return tables_url(self.config, explicit)

    def engine(self, explicit_url: str | None = None) -> Engine:
        """Our tables, migrated to the newest revision on first use in this process."""
        return _migrated_engine(self.database_url(explicit_url))

    def providers(self, api_key: str | None = None) -> list[BarProvider]:
        """A fresh provider chain (close it after use); the Polygon key read from the
        environment unless given (a Dagster resource passes the value its EnvVar resolved)."""
        from dgas_pipeline.data.fetch import build_providers
        from dgas_pipeline.secrets import provider_api_key

        key = api_key if api_key is not None else provider_api_key(self.config)
        return build_providers(self.config.provider, key, self.market)


def tables_url(config: SchedulerConfig, explicit: str | None = None) -> str:
    """Where our tables are, decided as the Dagster resources decide it: `explicit`, else
    `DGAS_DATABASE_URL`, else the config's `database_url`, else SQLite in DAGSTER_HOME;
    normalised. Needs no exchange clock, so `dgas db` does not build one."""
    # SQLAlchemy only when a database is used: `dgas plan` and `dgas calendar` need none.
    from dgas_pipeline.store.engine import database_in_use, normalize_url

    return normalize_url(explicit or database_in_use(config.database_url).url)


def market_for(config: SchedulerConfig, overrides_file: str | None = None) -> MarketHoursManager:
    """The exchange clock of `config`; `overrides_file` (a `--overrides` flag) instead of the
    config's `calendar.overrides_file` when given."""
    # pandas and exchange_calendars only when a clock is built: `dgas watchlist list` and
    # `dgas db` import this module and need none.
    from dgas_pipeline.market import MarketHoursManager, load_overrides

    path = overrides_file or config.calendar.overrides_file
    calendar = config.calendar
    return MarketHoursManager(calendar.exchange, load_overrides(path), calendar.history_start)


@lru_cache(maxsize=4)
def load_location(config_file: str | None) -> Location:
    """`config_file`, else `DGAS_CONFIG`/`./dgas.yaml`/defaults (see `load_config`)."""
    return Location.from_config(load_config(config_file))


def current_location() -> Location:
    """The location of the config file `DGAS_CONFIG` names (else `./dgas.yaml`, defaults)."""
    return load_location(os.environ.get(CONFIG_ENV) or None)


def forget_locations() -> None:
    """Drop the cached locations and engines (a test that changes config, home or database)."""
    load_location.cache_clear()
    _migrated_engine.cache_clear()


@lru_cache(maxsize=8)
def _migrated_engine(url: str) -> Engine:
    from dgas_pipeline.store.engine import make_engine
    from dgas_pipeline.store.schema import ensure_schema

    ensure_schema(url)
    return make_engine(url)
