"""Stored signals and their deliveries, read back for people: `dgas run-once`, `dgas signals`.

What the notifier decided is in `notification_log` (one row per message and channel, linked
to its signal by `signal_id`); these queries read it back rather than re-deciding it, so the
operator sees what happened, not what would happen now.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dgas_pipeline.store.tables import generated_signals, notification_log


def deliveries_of(conn: Connection, signal_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """The delivery log rows of each signal, by signal id, channels in name order."""
    ids = sorted(set(signal_ids))
    if not ids:
        return {}
    stmt = (
        sa.select(notification_log)
        .where(notification_log.c.signal_id.in_(ids))
        .order_by(notification_log.c.signal_id, notification_log.c.channel)
    )
    found: dict[int, list[dict[str, Any]]] = {}
    for row in conn.execute(stmt).mappings():
        found.setdefault(row["signal_id"], []).append(dict(row))
    return found


def signals_of_partitions(
    conn: Connection, partition_keys: Iterable[str], symbols: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """The signals the cycles of `partition_keys` wrote (of `symbols` only, when given),
    oldest first, then by symbol."""
    keys = list(partition_keys)
    if not keys:
        return []
    stmt = (
        sa.select(generated_signals)
        .where(generated_signals.c.partition_key.in_(keys))
        .order_by(generated_signals.c.signal_timestamp, generated_signals.c.symbol)
    )
    if symbols is not None:
        stmt = stmt.where(generated_signals.c.symbol.in_(list(symbols)))
    return [dict(row) for row in conn.execute(stmt).mappings()]


def find_stored_signals(
    conn: Connection,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    symbol: str | None = None,
    outcome: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Signals stamped in `(start, end]` (a session's, as `period_signals` counts them), of
    `symbol` and with `outcome` when given; the newest `limit`, returned oldest first."""
    stamp = generated_signals.c.signal_timestamp
    stmt = sa.select(generated_signals)
    if start is not None:
        stmt = stmt.where(stamp > start)
    if end is not None:
        stmt = stmt.where(stamp <= end)
    if symbol is not None:
        stmt = stmt.where(generated_signals.c.symbol == symbol)
    if outcome is not None:
        stmt = stmt.where(generated_signals.c.outcome == outcome)
    stmt = stmt.order_by(stamp.desc(), generated_signals.c.symbol.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return [dict(row) for row in reversed(conn.execute(stmt).mappings().all())]
