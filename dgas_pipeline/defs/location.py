"""What the code location was loaded with: the config and the exchange clock built from it.

Loaded once per process (the code server, `dagster dev`, a run worker) from `DGAS_CONFIG`,
else `./dgas.yaml`, else defaults, so the partitions, the sensor and the assets agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from dgas_pipeline.config import SchedulerConfig, load_config
from dgas_pipeline.market import MarketHoursManager, load_overrides


@dataclass(frozen=True)
class Location:
    config: SchedulerConfig
    market: MarketHoursManager


@lru_cache(maxsize=1)
def current_location() -> Location:
    config = load_config()
    market = MarketHoursManager(
        config.calendar.exchange, load_overrides(config.calendar.overrides_file)
    )
    return Location(config, market)
