"""Our tables, as SQLAlchemy Core `Table`s: the one place their shape is written down.

The seed schema is kept column for column so its users' SQL keeps working; what the run
mirror needs (`dagster_run_id`, `partition_key`, `kind`, `launched_by`) is added. Every
constraint has an explicit name so a later migration can alter it on SQLite (batch mode
rebuilds tables and needs names) and on PostgreSQL alike. The hand-written migration
`migrations/versions/0001_initial.py` must create exactly these tables; a test compares them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

SIGNAL_TYPES = ("LONG", "SHORT", "EXIT_LONG", "EXIT_SHORT")
OUTCOMES = ("WIN", "LOSS", "NEUTRAL", "PENDING")
TRENDS = ("UP", "DOWN", "NEUTRAL")
RUN_STATUSES = ("SUCCESS", "PARTIAL", "FAILED", "RUNNING")
RUN_KINDS = ("cycle", "eod", "watchlist")
LAUNCHERS = ("sensor", "schedule", "backfill", "ui", "cli", "retry")
AGGREGATION_PERIODS = ("hourly", "daily", "weekly", "monthly")
SCHEDULER_STATUSES = ("IDLE", "RUNNING", "STOPPED", "ERROR")
NOTIFICATION_STATUSES = ("SENT", "FAILED", "STALE", "PENDING")


class NaiveDatetimeError(ValueError):
    """A datetime without tzinfo reached the database: we cannot know which instant it means."""


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp that is always an aware UTC instant in Python, whatever the backend.

    PostgreSQL's `timestamptz` keeps the instant but returns it in the session's zone; SQLite
    has no zone at all and would silently drop an offset. So: reject naive values on write
    (the bug class the seed suffered from), store UTC, and hand back aware UTC on read.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a tz-aware datetime, got {type(value).__name__}: {value!r}")
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise NaiveDatetimeError(
                f"naive datetime {value.isoformat()} refused: dgas tables store instants, "
                "give it a tzinfo (e.g. datetime.now(UTC) or ts.tz_localize('America/New_York'))"
            )
        if type(value) is not datetime and hasattr(value, "to_pydatetime"):
            # pandas.Timestamp: drivers adapt the plain datetime it wraps, not the subclass.
            value = value.to_pydatetime()
        utc = value.astimezone(UTC)
        # SQLite's DATETIME ignores offsets: store the UTC wall time, reattached on read.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSONB on PostgreSQL (indexable, compact), SQLite's JSON text elsewhere.
JSONDocument = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _one_of(column: str, allowed: tuple[str, ...]) -> str:
    """CHECK text for an enumerated column; values are our constants, never user input."""
    listed = ", ".join(f"'{v}'" for v in allowed)
    return f"{column} IN ({listed})"


def _timestamps() -> list[sa.Column[Any]]:
    return [
        sa.Column("created_at", UTCDateTime(), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", UTCDateTime(), nullable=False, server_default=sa.func.now()),
    ]


metadata = sa.MetaData()

prediction_runs = sa.Table(
    "prediction_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # `<kind>:<partition_key>:<first 8 of the Dagster run id>` (widened in 0004).
    sa.Column("run_id", sa.String(255), nullable=False),
    sa.Column("run_timestamp", UTCDateTime(), nullable=False),
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
    sa.Column("errors", JSONDocument, nullable=False, default=list, server_default="[]"),
    # NOT NULL: PostgreSQL treats NULLs as distinct, so a nullable key would let a retry
    # duplicate its row. Unpartitioned runs use partition_key ''.
    sa.Column("dagster_run_id", sa.String(64), nullable=False),
    # A cycle's bar key, an EOD date, or a watchlist run's `<name>:<date>` (75 characters
    # with a 64-character name): 128 since 0004.
    sa.Column("partition_key", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("launched_by", sa.String(16), nullable=False),
    sa.Column("bar_start", UTCDateTime(), nullable=True),
    sa.Column("bar_end", UTCDateTime(), nullable=True),
    *_timestamps(),
    sa.UniqueConstraint("dagster_run_id", "partition_key", name="uq_prediction_runs_run_partition"),
    sa.CheckConstraint(_one_of("status", RUN_STATUSES), name="ck_prediction_runs_status"),
    sa.CheckConstraint(_one_of("kind", RUN_KINDS), name="ck_prediction_runs_kind"),
    sa.CheckConstraint(_one_of("launched_by", LAUNCHERS), name="ck_prediction_runs_launched_by"),
    sa.Index("ix_prediction_runs_run_timestamp", "run_timestamp"),
)

generated_signals = sa.Table(
    "generated_signals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("symbol", sa.String(32), nullable=False),
    sa.Column("signal_timestamp", UTCDateTime(), nullable=False),
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
    sa.Column("pattern_context", JSONDocument, nullable=True),
    sa.Column("notification_sent", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column(
        "notification_channels", JSONDocument, nullable=False, default=list, server_default="[]"
    ),
    sa.Column("notification_timestamp", UTCDateTime(), nullable=True),
    sa.Column("outcome", sa.String(8), nullable=False, server_default="PENDING"),
    sa.Column("actual_high", sa.Float, nullable=True),
    sa.Column("actual_low", sa.Float, nullable=True),
    sa.Column("actual_close", sa.Float, nullable=True),
    sa.Column("pnl_pct", sa.Float, nullable=True),
    sa.Column("evaluated_at", UTCDateTime(), nullable=True),
    # Which cycle wrote the signal, so a re-run of that bar can find (and replace) its output.
    sa.Column("partition_key", sa.String(64), nullable=True),
    sa.Column("dagster_run_id", sa.String(64), nullable=True),
    *_timestamps(),
    sa.UniqueConstraint(
        "symbol",
        "signal_timestamp",
        "signal_type",
        "trading_timeframe",
        name="uq_generated_signals_identity",
    ),
    sa.CheckConstraint(_one_of("signal_type", SIGNAL_TYPES), name="ck_generated_signals_type"),
    sa.CheckConstraint(_one_of("outcome", OUTCOMES), name="ck_generated_signals_outcome"),
    sa.CheckConstraint(_one_of("htf_trend", TRENDS), name="ck_generated_signals_htf_trend"),
    sa.CheckConstraint(
        "confidence >= 0 AND confidence <= 1", name="ck_generated_signals_confidence"
    ),
    sa.CheckConstraint(
        "signal_strength >= 0 AND signal_strength <= 1", name="ck_generated_signals_strength"
    ),
    sa.CheckConstraint(
        "timeframe_alignment >= 0 AND timeframe_alignment <= 1",
        name="ck_generated_signals_alignment",
    ),
    sa.Index("ix_generated_signals_outcome_timestamp", "outcome", "signal_timestamp"),
    sa.Index("ix_generated_signals_partition_key", "partition_key"),
)

prediction_metrics = sa.Table(
    "prediction_metrics",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("metric_type", sa.String(64), nullable=False),
    sa.Column("metric_value", sa.Float, nullable=False),
    sa.Column("aggregation_period", sa.String(16), nullable=False),
    sa.Column("period_start", UTCDateTime(), nullable=False),
    # SQL name `metadata` as in the seed; Python key `metadata_` so it cannot be mistaken
    # for (or shadow) a `MetaData` attribute.
    sa.Column("metadata", JSONDocument, key="metadata_", nullable=True),
    *_timestamps(),
    sa.UniqueConstraint(
        "metric_type", "aggregation_period", "period_start", name="uq_prediction_metrics_period"
    ),
    sa.CheckConstraint(
        _one_of("aggregation_period", AGGREGATION_PERIODS),
        name="ck_prediction_metrics_aggregation_period",
    ),
)

scheduler_state = sa.Table(
    "scheduler_state",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False, server_default="1"),
    sa.Column("last_run_timestamp", UTCDateTime(), nullable=True),
    sa.Column("next_scheduled_run", UTCDateTime(), nullable=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="IDLE"),
    sa.Column("current_run_id", sa.String(128), nullable=True),
    sa.Column("error_message", sa.Text, nullable=True),
    sa.Column("updated_at", UTCDateTime(), nullable=False, server_default=sa.func.now()),
    # The seed's singleton: the database, not the code, guarantees there is one row.
    sa.CheckConstraint("id = 1", name="ck_scheduler_state_singleton"),
    sa.CheckConstraint(_one_of("status", SCHEDULER_STATUSES), name="ck_scheduler_state_status"),
)

notification_log = sa.Table(
    "notification_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "signal_id",
        sa.Integer,
        sa.ForeignKey(
            "generated_signals.id", ondelete="CASCADE", name="fk_notification_log_signal_id"
        ),
        nullable=True,
    ),
    # Stable idempotency key ("signal:<id>", "eod:<date>"): a retried run derives the same key.
    sa.Column("message_key", sa.String(128), nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("status", sa.String(8), nullable=False, server_default="PENDING"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("sent_at", UTCDateTime(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("message_key", "channel", name="uq_notification_log_message_channel"),
    sa.CheckConstraint(_one_of("status", NOTIFICATION_STATUSES), name="ck_notification_log_status"),
    sa.Index("ix_notification_log_signal_id", "signal_id"),
)

WATCHLIST_EVERY_BAR = "every_bar"

# Watchlists people manage live (`dgas watchlist`, the REST API); the sensor reads them each
# tick. `version` is the optimistic-concurrency token: every configuration change is a
# compare-and-set on it (`UPDATE ... WHERE version = :seen`), so two clients editing the same
# watchlist cannot silently overwrite each other. A counter, not `updated_at`: two writes in
# the same clock tick would carry equal timestamps. Run bookkeeping (`last_run_*`) does not
# bump it: a run finishing must not invalidate an edit a person is making.
watchlists = sa.Table(
    "watchlists",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("symbols", JSONDocument, nullable=False),
    # `every_bar` or exchange-local `HH:MM`.
    sa.Column("schedule", sa.String(16), nullable=False, server_default=WATCHLIST_EVERY_BAR),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    *_timestamps(),
    sa.Column("last_run_id", sa.String(128), nullable=True),
    sa.Column("last_run_status", sa.String(16), nullable=True),
    sa.Column("last_run_at", UTCDateTime(), nullable=True),
    sa.UniqueConstraint("name", name="uq_watchlists_name"),
    sa.CheckConstraint(
        f"schedule = '{WATCHLIST_EVERY_BAR}' OR "
        "(length(schedule) = 5 AND substr(schedule, 3, 1) = ':')",
        name="ck_watchlists_schedule",
    ),
    sa.CheckConstraint("version >= 1", name="ck_watchlists_version"),
    sa.CheckConstraint(
        _one_of("last_run_status", RUN_STATUSES), name="ck_watchlists_last_run_status"
    ),
)

ALERT_STATES = ("ARMED", "TRIGGERED")

# Where each alert rule stands per symbol (`alerts/state.py`), so a restart or a retried
# run resumes evaluation after the last bar it read and never fires a bar twice.
alert_state = sa.Table(
    "alert_state",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("rule", sa.String(64), nullable=False),
    sa.Column("symbol", sa.String(32), nullable=False),
    sa.Column("state", sa.String(16), nullable=False, server_default="ARMED"),
    sa.Column("consecutive_true", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_fired_bar", UTCDateTime(), nullable=True),
    sa.Column("last_bar_evaluated", UTCDateTime(), nullable=True),
    sa.Column("updated_at", UTCDateTime(), nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("rule", "symbol", name="uq_alert_state_rule_symbol"),
    sa.CheckConstraint(_one_of("state", ALERT_STATES), name="ck_alert_state_state"),
    sa.CheckConstraint("consecutive_true >= 0", name="ck_alert_state_consecutive_true"),
)
