"""Valid rows for the store's tables, so each test states only what it is about."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

BAR = datetime(2025, 3, 10, 14, 30, tzinfo=UTC)  # a Monday, 10:30 New York (EDT)


def signal_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "symbol": "AAPL",
        "signal_timestamp": BAR,
        "signal_type": "LONG",
        "entry_price": 100.0,
        "stop_loss": 98.5,
        "target_price": 103.0,
        "confidence": 0.72,
        "signal_strength": 0.64,
        "timeframe_alignment": 0.81,
        "risk_reward_ratio": 2.0,
        "htf_trend": "UP",
        "htf_timeframe": "4h",
        "trading_timeframe": "1h",
        "trading_tf_state": "TREND",
        "confluence_zones_count": 2,
        "pattern_context": {"patterns": ["PLDOT_PUSH"]},
        "partition_key": "2025-03-10-10:30",
        "dagster_run_id": "run-1",
    }
    row.update(overrides)
    return row


def run_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "run_id": "cycle:2025-03-10-10:30",
        "run_timestamp": BAR,
        "interval_type": "30min",
        "symbols_requested": 3,
        "symbols_processed": 3,
        "signals_generated": 1,
        "execution_time_ms": 1200,
        "status": "SUCCESS",
        "data_fetch_ms": 400,
        "indicator_calc_ms": 500,
        "signal_generation_ms": 200,
        "notification_ms": 100,
        "errors": [],
        "dagster_run_id": "run-1",
        "partition_key": "2025-03-10-10:30",
        "kind": "cycle",
        "launched_by": "sensor",
        "bar_start": BAR,
        "bar_end": datetime(2025, 3, 10, 15, 0, tzinfo=UTC),
    }
    row.update(overrides)
    return row


def metric_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "metric_type": "latency_p95",
        "metric_value": 850.0,
        "aggregation_period": "daily",
        "period_start": datetime(2025, 3, 10, tzinfo=UTC),
        "metadata": {"stage": "total"},
    }
    row.update(overrides)
    return row
