"""What the code location runs with: the config and the exchange clock built from it.

Built once per process and config file (the code server, `dagster dev`, a run worker, the
CLI), so the partitions, the sensor and the assets of one process always agree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from dgas_pipeline.config import SchedulerConfig, load_config
from dgas_pipeline.instance import check_dagster_postgres_url
from dgas_pipeline.market import MarketHoursManager, load_overrides


@dataclass(frozen=True)
class Location:
    config: SchedulerConfig
    market: MarketHoursManager


@lru_cache(maxsize=4)
def load_location(config_file: str | None) -> Location:
    """`config_file`, else `DGAS_CONFIG`/`./dgas.yaml`/defaults (see `load_config`)."""
    check_dagster_postgres_url()
    config = load_config(config_file)
    market = MarketHoursManager(
        config.calendar.exchange, load_overrides(config.calendar.overrides_file)
    )
    return Location(config, market)


def current_location() -> Location:
    return load_location(os.environ.get("DGAS_CONFIG") or None)
