"""Rows the notifier is fed in tests, and a look into the delivery log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dgas_pipeline.store.tables import notification_log

SMTP_USER = "alerts"
# The test server's password; '@', '/' and ':' must survive being put into a URL.
SMTP_PASSWORD = "s3cr3t-P@ss/w:rd"  # noqa: S105


def signal_row(symbol: str = "AAPL", minute: int = 30, **overrides: Any) -> dict[str, Any]:
    """A `generated_signals`-shaped row (no id: it is not stored)."""
    row: dict[str, Any] = {
        "symbol": symbol,
        "signal_timestamp": datetime(2026, 11, 27, 15, minute, tzinfo=UTC),
        "signal_type": "LONG",
        "entry_price": 187.42,
        "stop_loss": 185.1,
        "target_price": 192.0,
        "confidence": 0.82,
        "signal_strength": 0.71,
        "timeframe_alignment": 0.66,
        "risk_reward_ratio": 1.97,
        "htf_trend": "UP",
        "htf_timeframe": "4h",
        "trading_timeframe": "30min",
        "trading_tf_state": "TREND_UP",
        "confluence_zones_count": 2,
        "pattern_context": {"patterns": ["PLDOT_PUSH"]},
    }
    row.update(overrides)
    return row


def log_rows(engine: Engine) -> dict[tuple[str, str], dict[str, Any]]:
    """The delivery log keyed by (message_key, channel)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(notification_log)).mappings().all()
    return {(r["message_key"], r["channel"]): dict(r) for r in rows}
