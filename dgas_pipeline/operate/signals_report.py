"""A cycle's signals and what became of each notification, for people (a table) and
scripts (a list): the product's output shown where the operator ran it.

Delivery outcomes are read back from the delivery log (`notification_log`), never re-decided
here: the notifier is the one place that judges a message stale or sends it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from dgas_pipeline.market.zones import local_time, zone_label
from dgas_pipeline.store.signal_queries import deliveries_of, signals_of_partitions

SENT, ALREADY_SENT, STALE, FAILED, PENDING = "sent", "already_sent", "stale", "failed", "pending"
NOT_TRIED = "not_tried"
"""A signal with no row in the delivery log: no channel is configured, or its run stopped
before notifying."""


def cycle_signals(
    conn: Connection,
    partition_keys: Iterable[str],
    run_started: datetime | None,
    symbols: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """The signals the cycles of `partition_keys` stored (of `symbols`, when given), each
    with its deliveries as the run that started at `run_started` left them (None: no run to
    compare with)."""
    found = signals_of_partitions(conn, partition_keys, symbols)
    return signal_rows(conn, found, run_started)


def signal_rows(
    conn: Connection, signals: Sequence[Mapping[str, Any]], run_started: datetime | None
) -> list[dict[str, Any]]:
    """Stored signals as plain JSON rows, each with its deliveries per channel."""
    logs = deliveries_of(conn, (s["id"] for s in signals))
    return [
        {
            **signal_fields(signal),
            "deliveries": [
                delivery_outcome(log, signal["signal_timestamp"], run_started)
                for log in logs.get(signal["id"], [])
            ],
        }
        for signal in signals
    ]


def signal_fields(signal: Mapping[str, Any]) -> dict[str, Any]:
    """What a person acts on: what to do, on which timeframe, at what prices, how sure."""
    context = signal.get("pattern_context") or {}
    patterns = context.get("confirming_patterns", []) if isinstance(context, Mapping) else []
    return {
        "id": signal["id"],
        "symbol": signal["symbol"],
        "direction": signal["signal_type"],
        "timeframe": signal["trading_timeframe"],
        "bar_closed": _iso(signal["signal_timestamp"]),
        "entry": signal["entry_price"],
        "stop": signal["stop_loss"],
        "target": signal["target_price"],
        "confidence": signal["confidence"],
        "strength": signal["signal_strength"],
        "patterns": list(patterns),
        "outcome": signal["outcome"],
        "pnl_pct": signal.get("pnl_pct"),
        "partition_key": signal.get("partition_key"),
    }


def delivery_outcome(
    log: Mapping[str, Any], bar_closed: datetime, run_started: datetime | None
) -> dict[str, Any]:
    """One channel's outcome for a signal: `sent` (by this run), `already_sent` (by an
    earlier one), `stale` (stored, never sent: too late), `failed` (with why) or `pending`."""
    status = log["status"]
    sent_at: datetime | None = log.get("sent_at")
    if status == "SENT":
        earlier = run_started is not None and sent_at is not None and sent_at < run_started
        outcome = ALREADY_SENT if earlier else SENT
        detail = f"{'already sent' if earlier else 'sent'} {_iso(sent_at) or ''}".strip()
    elif status == "STALE":
        outcome = STALE
        if run_started is None:
            detail = "stale: too late to notify, stored not sent"
        else:
            detail = f"stale: bar closed {ago(run_started - bar_closed)} ago, stored not sent"
    elif status == "FAILED":
        outcome, detail = FAILED, f"failed: {log.get('last_error') or 'no reason recorded'}"
    else:
        outcome, detail = PENDING, "pending: claimed, no outcome recorded"
    return {
        "channel": log["channel"],
        "status": outcome,
        "detail": detail,
        "sent_at": _iso(sent_at),
    }


def ago(delta: timedelta) -> str:
    """`1 d 2 h`, `3 h 5 min`, `12 min`: the two largest units, enough to judge staleness."""
    total = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(total, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins} min"
    return f"{mins} min"


def render_signals(rows: Sequence[Mapping[str, Any]], tz_name: str) -> list[str]:
    """The signals as a table, each followed by its deliveries, in the exchange's time."""
    if not rows:
        return ["no signals"]
    header = (
        f"{'symbol':<8} {'direction':<11} {'tf':<6} {'bar closed':<11} {'entry':>10} "
        f"{'stop':>10} {'target':>10} {'conf':>5} {'str':>5} {'outcome':<8} patterns"
    )
    lines = [f"signals ({len(rows)}, times {zone_label(tz_name)}):", header]
    for row in rows:
        lines.append(
            f"{row['symbol']:<8} {row['direction']:<11} {row['timeframe']:<6} "
            f"{local_time(row['bar_closed'], tz_name, '%m-%d %H:%M'):<11} {row['entry']:>10.2f} "
            f"{row['stop']:>10.2f} {row['target']:>10.2f} {row['confidence']:>5.2f} "
            f"{row['strength']:>5.2f} {row['outcome']:<8} {', '.join(row['patterns']) or '-'}"
        )
        deliveries = row.get("deliveries")
        if deliveries is None:
            continue
        if not deliveries:
            lines.append("    not notified: no delivery recorded (no channel configured?)")
        lines.extend(f"    {d['channel']}: {d['detail']}" for d in deliveries)
    return lines


def delivery_counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many (signal, channel) deliveries ended each way, e.g. `{"stale": 12}`."""
    counts: dict[str, int] = {}
    for row in rows:
        for delivery in row.get("deliveries") or [{"status": NOT_TRIED}]:
            counts[delivery["status"]] = counts.get(delivery["status"], 0) + 1
    return counts


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z") if at else None
