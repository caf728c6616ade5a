"""The exchange clock: sessions, overrides and the launch planner. Knows nothing of Dagster."""

from dgas_pipeline.market.intervals import format_interval, parse_interval
from dgas_pipeline.market.overrides import CalendarOverrides, load_overrides
from dgas_pipeline.market.planner import (
    Launch,
    PlanSettings,
    cycle_partition_key,
    launches_due,
    next_launch,
    parse_cycle_partition_key,
    plan_launches,
)
from dgas_pipeline.market.sessions import MarketHoursManager, TradingSession, require_aware

__all__ = [
    "CalendarOverrides",
    "Launch",
    "MarketHoursManager",
    "PlanSettings",
    "TradingSession",
    "cycle_partition_key",
    "format_interval",
    "launches_due",
    "load_overrides",
    "next_launch",
    "parse_cycle_partition_key",
    "parse_interval",
    "plan_launches",
    "require_aware",
]
