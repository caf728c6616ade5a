"""Initial dgas tables: the seed schema plus the run-mirror columns.

Written by hand and frozen: it spells out every column rather than importing `tables.py`, so
a later edit of the tables cannot silently change what this revision did. A test checks that
head still matches `tables.py`.

Revision ID: 0001
Revises:
Create Date: 2025-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _one_of(column: str, *allowed: str) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in allowed)})"


def _created_updated() -> list[sa.Column]:
    return [
        sa.Column("created_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
    ]


def upgrade() -> None:
    op.create_table(
        "prediction_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(128), nullable=False),
        sa.Column("run_timestamp", TIMESTAMP, nullable=False),
        sa.Column("interval_type", sa.String(16), nullable=False),
        sa.Column("symbols_requested", sa.Integer, nullable=False, server_default="0"),
        sa.Column("symbols_processed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("signals_generated", sa.Integer, nullable=False, server_default="0"),
        sa.Column("execution_time_ms", sa.Integer, nullable=False, server_default="0"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("data_fetch_ms", sa.Integer, nullable=True),
        sa.Column("indicator_calc_ms", sa.Integer, nullable=True),
        sa.Column("signal_generation_ms", sa.Integer, nullable=True),
        sa.Column("notification_ms", sa.Integer, nullable=True),
        sa.Column("errors", JSON, nullable=False, server_default="[]"),
        sa.Column("dagster_run_id", sa.String(64), nullable=False),
        sa.Column("partition_key", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("launched_by", sa.String(16), nullable=False),
        sa.Column("bar_start", TIMESTAMP, nullable=True),
        sa.Column("bar_end", TIMESTAMP, nullable=True),
        *_created_updated(),
        sa.UniqueConstraint(
            "dagster_run_id", "partition_key", name="uq_prediction_runs_run_partition"
        ),
        sa.CheckConstraint(
            _one_of("status", "SUCCESS", "PARTIAL", "FAILED", "RUNNING"),
            name="ck_prediction_runs_status",
        ),
        sa.CheckConstraint(
            _one_of("kind", "cycle", "eod", "watchlist"), name="ck_prediction_runs_kind"
        ),
        sa.CheckConstraint(
            _one_of("launched_by", "sensor", "schedule", "backfill", "ui", "cli", "retry"),
            name="ck_prediction_runs_launched_by",
        ),
    )
    op.create_index("ix_prediction_runs_run_timestamp", "prediction_runs", ["run_timestamp"])

    op.create_table(
        "generated_signals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("signal_timestamp", TIMESTAMP, nullable=False),
        sa.Column("signal_type", sa.String(16), nullable=False),
        sa.Column("entry_price", sa.Float, nullable=False),
        sa.Column("stop_loss", sa.Float, nullable=False),
        sa.Column("target_price", sa.Float, nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("signal_strength", sa.Float, nullable=False),
        sa.Column("timeframe_alignment", sa.Float, nullable=False),
        sa.Column("risk_reward_ratio", sa.Float, nullable=True),
        sa.Column("htf_trend", sa.String(8), nullable=False),
        sa.Column("htf_timeframe", sa.String(16), nullable=False),
        sa.Column("trading_timeframe", sa.String(16), nullable=False),
        sa.Column("trading_tf_state", sa.String(32), nullable=True),
        sa.Column("confluence_zones_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("pattern_context", JSON, nullable=True),
        sa.Column("notification_sent", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("notification_channels", JSON, nullable=False, server_default="[]"),
        sa.Column("notification_timestamp", TIMESTAMP, nullable=True),
        sa.Column("outcome", sa.String(8), nullable=False, server_default="PENDING"),
        sa.Column("actual_high", sa.Float, nullable=True),
        sa.Column("actual_low", sa.Float, nullable=True),
        sa.Column("actual_close", sa.Float, nullable=True),
        sa.Column("pnl_pct", sa.Float, nullable=True),
        sa.Column("evaluated_at", TIMESTAMP, nullable=True),
        sa.Column("partition_key", sa.String(64), nullable=True),
        sa.Column("dagster_run_id", sa.String(64), nullable=True),
        *_created_updated(),
        sa.UniqueConstraint(
            "symbol",
            "signal_timestamp",
            "signal_type",
            "trading_timeframe",
            name="uq_generated_signals_identity",
        ),
        sa.CheckConstraint(
            _one_of("signal_type", "LONG", "SHORT", "EXIT_LONG", "EXIT_SHORT"),
            name="ck_generated_signals_type",
        ),
        sa.CheckConstraint(
            _one_of("outcome", "WIN", "LOSS", "NEUTRAL", "PENDING"),
            name="ck_generated_signals_outcome",
        ),
        # Upper case, as the CHECK says: the seed wrote 'up' here and every insert failed.
        sa.CheckConstraint(
            _one_of("htf_trend", "UP", "DOWN", "NEUTRAL"), name="ck_generated_signals_htf_trend"
        ),
        sa.CheckConstraint(
            "confidence >= 0 AND confidence <= 1", name="ck_generated_signals_confidence"
        ),
        sa.CheckConstraint(
            "signal_strength >= 0 AND signal_strength <= 1",
            name="ck_generated_signals_strength",
        ),
        sa.CheckConstraint(
            "timeframe_alignment >= 0 AND timeframe_alignment <= 1",
            name="ck_generated_signals_alignment",
        ),
    )
    op.create_index(
        "ix_generated_signals_outcome_timestamp",
        "generated_signals",
        ["outcome", "signal_timestamp"],
    )
    op.create_index("ix_generated_signals_partition_key", "generated_signals", ["partition_key"])

    op.create_table(
        "prediction_metrics",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("metric_type", sa.String(64), nullable=False),
        sa.Column("metric_value", sa.Float, nullable=False),
        sa.Column("aggregation_period", sa.String(16), nullable=False),
        sa.Column("period_start", TIMESTAMP, nullable=False),
        sa.Column("metadata", JSON, nullable=True),
        *_created_updated(),
        sa.UniqueConstraint(
            "metric_type",
            "aggregation_period",
            "period_start",
            name="uq_prediction_metrics_period",
        ),
        sa.CheckConstraint(
            _one_of("aggregation_period", "hourly", "daily", "weekly", "monthly"),
            name="ck_prediction_metrics_aggregation_period",
        ),
    )

    op.create_table(
        "scheduler_state",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False, server_default="1"),
        sa.Column("last_run_timestamp", TIMESTAMP, nullable=True),
        sa.Column("next_scheduled_run", TIMESTAMP, nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="IDLE"),
        sa.Column("current_run_id", sa.String(128), nullable=True),
        sa.Column("error_message", sa.Text, nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("id = 1", name="ck_scheduler_state_singleton"),
        sa.CheckConstraint(
            _one_of("status", "IDLE", "RUNNING", "STOPPED", "ERROR"),
            name="ck_scheduler_state_status",
        ),
    )

    op.create_table(
        "notification_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "signal_id",
            sa.Integer,
            sa.ForeignKey(
                "generated_signals.id",
                ondelete="CASCADE",
                name="fk_notification_log_signal_id",
            ),
            nullable=True,
        ),
        sa.Column("message_key", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("status", sa.String(8), nullable=False, server_default="PENDING"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("sent_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("message_key", "channel", name="uq_notification_log_message_channel"),
        sa.CheckConstraint(
            _one_of("status", "SENT", "FAILED", "STALE", "PENDING"),
            name="ck_notification_log_status",
        ),
    )
    op.create_index("ix_notification_log_signal_id", "notification_log", ["signal_id"])


def downgrade() -> None:
    op.drop_table("notification_log")
    op.drop_table("scheduler_state")
    op.drop_table("prediction_metrics")
    op.drop_table("generated_signals")
    op.drop_table("prediction_runs")
