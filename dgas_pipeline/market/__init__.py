"""The exchange clock: sessions, overrides and the launch planner. Knows nothing of Dagster.

Names are imported on first use (`lazy_exports`): the config reads `market.intervals` and
`market.overrides` without building (or importing) the exchange calendar, so a command that
needs no clock (`dgas watchlist list`, the database commands) imports no pandas.
"""

from __future__ import annotations

from dgas_pipeline.lazy_exports import lazy_exports

_EXPORTS = {
    "format_interval": "intervals",
    "parse_interval": "intervals",
    "CalendarOverrides": "overrides",
    "load_overrides": "overrides",
    "Launch": "planner",
    "PlanSettings": "planner",
    "cycle_partition_key": "planner",
    "launches_due": "planner",
    "next_launch": "planner",
    "parse_cycle_partition_key": "planner",
    "plan_launches": "planner",
    "MarketHoursManager": "sessions",
    "TradingSession": "sessions",
    "require_aware": "sessions",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
