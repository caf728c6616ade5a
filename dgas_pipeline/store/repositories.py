"""Small read and write functions over our tables, one purpose each.

They take a `Connection` and never commit: the caller groups the writes of one run into a
single transaction (`engine.begin()` or `write_transaction`), so a failed cycle leaves the
tables as they were. Every statement is SQLAlchemy Core with bound parameters; nothing here
formats SQL text. Upserts use each dialect's `INSERT ... ON CONFLICT`, so a retried run
rewrites its rows instead of duplicating them or failing on the unique keys.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from dgas_pipeline.store.tables import (
    generated_signals,
    notification_log,
    prediction_metrics,
    prediction_runs,
    scheduler_state,
)

Row = Mapping[str, Any]

SIGNAL_KEY: Final = ("symbol", "signal_timestamp", "signal_type", "trading_timeframe")

# Written by the notifier and by EOD consolidation, never by the cycle that found the signal:
# a re-run of the cycle must not make a sent signal look unsent or erase its outcome.
_SIGNAL_FIELDS_KEPT_ON_UPSERT: Final = frozenset(
    {
        "id",
        "created_at",
        "notification_sent",
        "notification_channels",
        "notification_timestamp",
        "outcome",
        "actual_high",
        "actual_low",
        "actual_close",
        "pnl_pct",
        "evaluated_at",
    }
)
_OUTCOME_FIELDS: Final = ("outcome", "actual_high", "actual_low", "actual_close", "pnl_pct")
_SCHEDULER_SINGLETON_ID: Final = 1
_DONE_NOTIFICATION_STATUSES: Final = frozenset({"SENT", "STALE"})
# Messages per statement when claiming, retiring or marking many (SQLite binds at most
# 32,766 parameters).
_NOTIFICATION_CHUNK: Final = 1000
# Signals per upsert statement: ~30 columns each stays far inside SQLite's parameter limit.
_UPSERT_CHUNK: Final = 500


class _Keep:
    """Sentinel: leave this scheduler_state field as it is (None means: clear it)."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Final = _Keep()


def upsert_signals(conn: Connection, rows: Iterable[Row]) -> list[int]:
    """Insert signals, or refresh the analysis fields of ones already stored; ids in order.

    A signal is identified by (symbol, signal_timestamp, signal_type, trading_timeframe), so
    a retried or backfilled cycle finds the row it wrote before. Notification and outcome
    fields of an existing row are left alone (see `_SIGNAL_FIELDS_KEPT_ON_UPSERT`).

    A cycle of thousands of symbols writes thousands of signals: they go in multi-row
    statements of `_UPSERT_CHUNK` rows (one statement each cost ~1.5 ms, 4 s for 2,500). The
    order of RETURNING across a multi-row upsert is not guaranteed, so ids are matched back by
    the signal's key. A key given twice ends as its last row, as two single upserts would
    leave it (one statement may not touch a row twice).
    """
    now = _now()
    prepared = [_signal_values(row, now) for row in rows]
    ids: dict[tuple[Any, ...], int] = {}
    key_columns = [generated_signals.c[name] for name in SIGNAL_KEY]
    for batch in _upsert_batches(prepared):
        insert = _insert(conn, generated_signals)
        refreshed = {
            name: insert.excluded[name]
            for name in batch[0]
            if name not in _SIGNAL_FIELDS_KEPT_ON_UPSERT and name not in SIGNAL_KEY
        }
        stmt = insert.on_conflict_do_update(
            index_elements=list(SIGNAL_KEY), set_=refreshed
        ).returning(generated_signals.c.id, *key_columns)
        # Executed over the rows, not compiled with them as VALUES: SQLAlchemy compiles the
        # statement once and sends the rows as multi-row batches (compiling 500 rows x ~30
        # columns of VALUES cost ~0.9 s a statement).
        for found in conn.execute(stmt, batch).mappings():
            ids[_signal_key(found)] = found["id"]
    return [ids[_signal_key(values)] for values in prepared]


def _signal_values(row: Row, now: datetime) -> dict[str, Any]:
    values = {**row, "updated_at": now}
    if "pattern_context" in values:
        values["pattern_context"] = json_safe(values["pattern_context"])
    return values


def _upsert_batches(prepared: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Rows with the same columns, each key once (its last row), at most `_UPSERT_CHUNK`."""
    by_columns: dict[tuple[str, ...], dict[tuple[Any, ...], dict[str, Any]]] = {}
    for values in prepared:
        same = by_columns.setdefault(tuple(sorted(values)), {})
        key = tuple(values[name] for name in SIGNAL_KEY)
        same.pop(key, None)
        same[key] = values
    for same in by_columns.values():
        rows = list(same.values())
        for start in range(0, len(rows), _UPSERT_CHUNK):
            yield rows[start : start + _UPSERT_CHUNK]


def _signal_key(values: Mapping[str, Any]) -> tuple[Any, ...]:
    """The signal's key with its instant as a plain UTC datetime, whichever side gave it."""
    stamp = values["signal_timestamp"]
    if hasattr(stamp, "to_pydatetime"):
        stamp = stamp.to_pydatetime()
    return (
        values["symbol"],
        stamp.astimezone(UTC),
        values["signal_type"],
        values["trading_timeframe"],
    )


def mark_signals_notified(
    conn: Connection, delivered: Mapping[int, Sequence[str]], at: datetime | None = None
) -> int:
    """Record on each signal (by id) the channels that delivered it; returns how many changed.

    Channels add to those recorded before (a retry may reach a channel that failed the first
    time); `notification_timestamp` keeps the first delivery.
    """
    when = at or _now()
    updated = 0
    for signal_id, names in delivered.items():
        row = (
            conn.execute(
                sa.select(
                    generated_signals.c.notification_channels,
                    generated_signals.c.notification_timestamp,
                ).where(generated_signals.c.id == signal_id)
            )
            .mappings()
            .one_or_none()
        )
        if row is None or not names:
            continue
        known = list(row["notification_channels"] or [])
        stmt = (
            sa.update(generated_signals)
            .where(generated_signals.c.id == signal_id)
            .values(
                notification_sent=True,
                notification_channels=[*known, *(n for n in names if n not in known)],
                notification_timestamp=row["notification_timestamp"] or when,
                updated_at=_now(),
            )
        )
        updated += conn.execute(stmt).rowcount
    return updated


def signals_for_partition(conn: Connection, partition_key: str) -> list[dict[str, Any]]:
    """The signals a cycle partition wrote, e.g. to chart them or to compare a re-run."""
    stmt = (
        sa.select(generated_signals)
        .where(generated_signals.c.partition_key == partition_key)
        .order_by(generated_signals.c.symbol, generated_signals.c.signal_timestamp)
    )
    return _dicts(conn.execute(stmt))


def signals_since(conn: Connection, since: datetime) -> list[dict[str, Any]]:
    """Signals stamped at or after `since`: the aggregator's "previous kept" of each symbol."""
    stmt = (
        sa.select(generated_signals)
        .where(generated_signals.c.signal_timestamp >= since)
        .order_by(generated_signals.c.signal_timestamp)
    )
    return _dicts(conn.execute(stmt))


def pending_signals(conn: Connection, before: datetime) -> list[dict[str, Any]]:
    """Signals still PENDING that were issued before `before`: what EOD has to evaluate."""
    stmt = (
        sa.select(generated_signals)
        .where(
            generated_signals.c.outcome == "PENDING",
            generated_signals.c.signal_timestamp < before,
        )
        .order_by(generated_signals.c.signal_timestamp, generated_signals.c.id)
    )
    return _dicts(conn.execute(stmt))


def update_outcomes(conn: Connection, rows: Iterable[Row]) -> int:
    """Write evaluated outcomes (by signal `id`); returns how many signals were updated.

    Each row carries `id`, `outcome` and optionally actual_high/low/close, pnl_pct and
    `evaluated_at` (default: now), so EOD records when it judged a signal.
    """
    now = _now()
    updated = 0
    for row in rows:
        values: dict[str, Any] = {k: row[k] for k in _OUTCOME_FIELDS if k in row}
        values["evaluated_at"] = row.get("evaluated_at") or now
        values["updated_at"] = now
        stmt = (
            sa.update(generated_signals).where(generated_signals.c.id == row["id"]).values(values)
        )
        updated += conn.execute(stmt).rowcount
    return updated


def record_run(conn: Connection, row: Row) -> int:
    """Insert or update the mirror row of one (Dagster run, partition); returns its id.

    The run writes RUNNING at start and its final status at the end; the run-status sensor
    may write again for a run that crashed. All land on the same row.
    """
    values = {**row, "updated_at": _now()}
    refreshed = {k: v for k, v in values.items() if k not in ("id", "created_at")}
    stmt = (
        _insert(conn, prediction_runs)
        .values(values)
        .on_conflict_do_update(index_elements=["dagster_run_id", "partition_key"], set_=refreshed)
        .returning(prediction_runs.c.id)
    )
    return conn.execute(stmt).scalar_one()


def record_runs(conn: Connection, rows: Sequence[Row]) -> None:
    """`record_run` for many rows at once: a range run's rows, one per bar.

    One statement executed over all rows with the same columns (SQLAlchemy sends them as
    multi-row batches and compiles the statement once), instead of a statement per bar: a
    year's backfill writes each run's rows four times.
    """
    now = _now()
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        values = {**row, "updated_at": now}
        by_columns.setdefault(tuple(sorted(values)), []).append(values)
    for columns, same in by_columns.items():
        insert = _insert(conn, prediction_runs)
        refreshed = {k: insert.excluded[k] for k in columns if k not in ("id", "created_at")}
        stmt = insert.on_conflict_do_update(
            index_elements=["dagster_run_id", "partition_key"], set_=refreshed
        )
        conn.execute(stmt, same)


def get_run(conn: Connection, dagster_run_id: str, partition_key: str) -> dict[str, Any] | None:
    """The mirror row of one (Dagster run, partition), so a later stage can add to it."""
    stmt = sa.select(prediction_runs).where(
        prediction_runs.c.dagster_run_id == dagster_run_id,
        prediction_runs.c.partition_key == partition_key,
    )
    row = conn.execute(stmt).mappings().one_or_none()
    return dict(row) if row is not None else None


def get_runs(conn: Connection, dagster_run_id: str) -> dict[str, dict[str, Any]]:
    """Every mirror row of one Dagster run, by partition key: a range run's in one query."""
    stmt = sa.select(prediction_runs).where(prediction_runs.c.dagster_run_id == dagster_run_id)
    return {row["partition_key"]: row for row in _dicts(conn.execute(stmt))}


def runs_between(
    conn: Connection, start: datetime, end: datetime, kind: str = "cycle"
) -> list[dict[str, Any]]:
    """Mirror rows of `kind` whose bar started in [start, end): one session's cycles."""
    stmt = (
        sa.select(prediction_runs)
        .where(
            prediction_runs.c.kind == kind,
            prediction_runs.c.bar_start >= start,
            prediction_runs.c.bar_start < end,
        )
        .order_by(prediction_runs.c.bar_start, prediction_runs.c.id)
    )
    return _dicts(conn.execute(stmt))


def recent_runs(conn: Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The newest mirror rows first, for `dgas status` and the seed's `get_recent_runs`."""
    stmt = (
        sa.select(prediction_runs)
        .order_by(prediction_runs.c.run_timestamp.desc(), prediction_runs.c.id.desc())
        .limit(limit)
    )
    return _dicts(conn.execute(stmt))


def set_scheduler_state(
    conn: Connection,
    *,
    status: str | _Keep = KEEP,
    last_run_timestamp: datetime | _Keep | None = KEEP,
    next_scheduled_run: datetime | _Keep | None = KEEP,
    current_run_id: str | _Keep | None = KEEP,
    error_message: str | _Keep | None = KEEP,
) -> None:
    """Update the single scheduler_state row, creating it on first use.

    Fields not given keep their value; pass None to clear one (e.g. `error_message` after a
    good run). The seed never wrote `last_run_timestamp`; the run mirror does, via this.
    """
    given = {
        name: value
        for name, value in (
            ("status", status),
            ("last_run_timestamp", last_run_timestamp),
            ("next_scheduled_run", next_scheduled_run),
            ("current_run_id", current_run_id),
            ("error_message", error_message),
        )
        if not isinstance(value, _Keep)
    }
    values = {**given, "updated_at": _now()}
    stmt = (
        _insert(conn, scheduler_state)
        .values(id=_SCHEDULER_SINGLETON_ID, **values)
        .on_conflict_do_update(index_elements=["id"], set_=values)
    )
    conn.execute(stmt)


def get_scheduler_state(conn: Connection) -> dict[str, Any] | None:
    """The scheduler_state row, or None before anything was ever run."""
    stmt = sa.select(scheduler_state).where(scheduler_state.c.id == _SCHEDULER_SINGLETON_ID)
    row = conn.execute(stmt).mappings().one_or_none()
    return dict(row) if row is not None else None


def claim_notifications(
    conn: Connection, channel: str, messages: Sequence[tuple[str, int | None]]
) -> list[str]:
    """The keys of these messages (key, signal id) that may go out on `channel`, in order.

    Records a PENDING attempt for each (creating its log row on first claim). A message SENT,
    or marked STALE (a backfilled bar: stored, never sent), is never claimed again, so a
    retried run cannot notify twice. A PENDING or FAILED one may be tried again. On
    PostgreSQL the rows stay locked until the caller's transaction ends, so concurrent
    claimers queue; a claim and the send after it are kept apart from another run's by
    `store.locks.exclusive`. A few statements per thousand messages, not three per message.
    """
    return _open_notifications(conn, channel, messages, attempts=notification_log.c.attempts + 1)


def retire_notifications(
    conn: Connection, channel: str, messages: Sequence[tuple[str, int | None]]
) -> int:
    """Mark these messages (key, signal id) STALE on `channel`, as `claim_notifications` then
    `mark_notifications(..., "STALE")` would; how many were retired (the others were SENT or
    STALE already and are left as they are).

    Stale messages are never sent, so retiring them needs no lock beyond the rows': a run
    sending one of them at the same time still sends it at most once (its SENT wins).
    """
    retired = _open_notifications(
        conn,
        channel,
        messages,
        attempts=notification_log.c.attempts + 1,
        status="STALE",
        last_error=None,
    )
    return len(retired)


def _open_notifications(
    conn: Connection, channel: str, messages: Sequence[tuple[str, int | None]], **update: Any
) -> list[str]:
    """Create missing log rows (PENDING), lock them, apply `update` to those neither SENT nor
    STALE and return their keys in the order given (each key once)."""
    opened: list[str] = []
    first: dict[str, int | None] = {}
    for key, signal_id in messages:
        first.setdefault(key, signal_id)
    unique = list(first.items())
    for start in range(0, len(unique), _NOTIFICATION_CHUNK):
        chunk = unique[start : start + _NOTIFICATION_CHUNK]
        keys = [key for key, _ in chunk]
        conn.execute(
            _insert(conn, notification_log)
            .values(
                [
                    {"message_key": key, "channel": channel, "signal_id": sid, "status": "PENDING"}
                    for key, sid in chunk
                ]
            )
            .on_conflict_do_nothing(index_elements=["message_key", "channel"])
        )
        where = sa.and_(
            notification_log.c.channel == channel, notification_log.c.message_key.in_(keys)
        )
        statuses = dict(
            conn.execute(
                sa.select(notification_log.c.message_key, notification_log.c.status)
                .where(where)
                .with_for_update()
            ).all()
        )
        open_keys = [k for k in keys if statuses[k] not in _DONE_NOTIFICATION_STATUSES]
        if open_keys:
            conn.execute(
                sa.update(notification_log)
                .where(
                    notification_log.c.channel == channel,
                    notification_log.c.message_key.in_(open_keys),
                )
                .values(**update)
            )
        opened.extend(open_keys)
    return opened


def mark_notifications(
    conn: Connection,
    channel: str,
    message_keys: Sequence[str],
    status: str,
    error: str | None = None,
) -> None:
    """Record how the delivery of these messages on `channel` ended, creating rows if needed.

    One batch sent (or failed) as one message ends the same way for all it listed. STALE is
    written without a claim for messages of backfilled bars, hence the upsert.
    """
    values: dict[str, Any] = {"status": status, "last_error": error}
    if status == "SENT":
        values["sent_at"] = _now()
    unique = list(dict.fromkeys(message_keys))
    for start in range(0, len(unique), _NOTIFICATION_CHUNK):
        chunk = unique[start : start + _NOTIFICATION_CHUNK]
        stmt = _insert(conn, notification_log).values(
            [{"message_key": key, "channel": channel, **values} for key in chunk]
        )
        conn.execute(
            stmt.on_conflict_do_update(index_elements=["message_key", "channel"], set_=values)
        )


def notification_status(conn: Connection, message_key: str, channel: str) -> str | None:
    """The delivery status of one message on one channel; None if it was never claimed."""
    stmt = sa.select(notification_log.c.status).where(
        notification_log.c.message_key == message_key, notification_log.c.channel == channel
    )
    return conn.execute(stmt).scalar_one_or_none()


def upsert_metrics(conn: Connection, rows: Iterable[Row]) -> None:
    """Store metric values; recomputing a period replaces its value instead of adding one.

    Rows may name the JSON column `metadata` (its SQL name) or `metadata_` (its Core key).
    """
    now = _now()
    for row in rows:
        values = {("metadata_" if k == "metadata" else k): v for k, v in row.items()}
        if "metadata_" in values:
            values["metadata_"] = json_safe(values["metadata_"])
        values["updated_at"] = now
        refreshed = {
            k: v for k, v in values.items() if k in ("metric_value", "metadata_", "updated_at")
        }
        stmt = (
            _insert(conn, prediction_metrics)
            .values(values)
            .on_conflict_do_update(
                index_elements=["metric_type", "aggregation_period", "period_start"],
                set_=refreshed,
            )
        )
        conn.execute(stmt)


def metrics(
    conn: Connection, metric_type: str, aggregation_period: str, since: datetime
) -> list[dict[str, Any]]:
    """One metric's values from `since` on, oldest first (charts, calibration reports).

    Rows come back keyed by SQL column name, so the JSON document is under `metadata`.
    """
    stmt = (
        sa.select(prediction_metrics)
        .where(
            prediction_metrics.c.metric_type == metric_type,
            prediction_metrics.c.aggregation_period == aggregation_period,
            prediction_metrics.c.period_start >= since,
        )
        .order_by(prediction_metrics.c.period_start)
    )
    return _dicts(conn.execute(stmt))


def json_safe(value: Any) -> Any:
    """A JSON document both backends take: NaN and infinities become null, NumPy scalars plain.

    PostgreSQL's JSONB rejects NaN (an empty calibration bucket has no win rate), and SQLite
    would store it as text no JSON reader accepts.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def _insert(conn: Connection, table: sa.Table) -> Any:
    """The dialect's INSERT, which is the one that knows ON CONFLICT."""
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"dgas tables support SQLite and PostgreSQL, not {name}")


def _dicts(result: sa.Result[Any]) -> list[dict[str, Any]]:
    return [dict(row) for row in result.mappings()]


def _now() -> datetime:
    return datetime.now(UTC)


__all__: Sequence[str] = [
    "KEEP",
    "claim_notifications",
    "get_scheduler_state",
    "mark_notifications",
    "mark_signals_notified",
    "metrics",
    "notification_status",
    "pending_signals",
    "recent_runs",
    "record_run",
    "record_runs",
    "set_scheduler_state",
    "signals_for_partition",
    "update_outcomes",
    "upsert_metrics",
    "upsert_signals",
]
