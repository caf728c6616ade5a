"""Reading and writing alert rule state (`alert_state`), one row per (rule, symbol).

Like `repositories`, these take a `Connection` and never commit: the caller saves the
states in the transaction that records what the evaluation did. A saved state never moves
backwards: a retried or late run that evaluated fewer bars than the stored state cannot
overwrite it, so no bar is ever evaluated (and fired) twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from dgas_pipeline.alerts.state import AlertState, StateKey
from dgas_pipeline.store.tables import alert_state

_FIELDS = ("state", "consecutive_true", "last_fired_bar", "last_bar_evaluated")


def get_alert_states(conn: Connection, rule_names: Iterable[str]) -> dict[StateKey, AlertState]:
    """The stored states of these rules, keyed by (rule, symbol); missing ones start fresh."""
    names = list(dict.fromkeys(rule_names))
    if not names:
        return {}
    rows = conn.execute(
        sa.select(alert_state).where(alert_state.c.rule.in_(names)).order_by(alert_state.c.id)
    ).mappings()
    states = [
        AlertState(
            rule=row["rule"],
            symbol=row["symbol"],
            state=row["state"],
            consecutive_true=row["consecutive_true"],
            last_fired_bar=row["last_fired_bar"],
            last_bar_evaluated=row["last_bar_evaluated"],
        )
        for row in rows
    ]
    return {state.key: state for state in states}


def save_alert_states(conn: Connection, states: Iterable[AlertState]) -> int:
    """Insert or update each state; returns how many rows were written.

    An update only applies when the new state has evaluated at least as far as the stored
    one (see the module docstring).
    """
    written = 0
    now = datetime.now(UTC)
    for state in states:
        values = {
            "rule": state.rule,
            "symbol": state.symbol,
            **{name: getattr(state, name) for name in _FIELDS},
            "updated_at": now,
        }
        insert = _insert(conn).values(values)
        stored = alert_state.c.last_bar_evaluated
        incoming = insert.excluded.last_bar_evaluated
        statement = insert.on_conflict_do_update(
            index_elements=["rule", "symbol"],
            set_={name: insert.excluded[name] for name in (*_FIELDS, "updated_at")},
            where=sa.or_(stored.is_(None), sa.and_(incoming.is_not(None), incoming >= stored)),
        )
        written += conn.execute(statement).rowcount
    return written


def reset_alert_states(conn: Connection, rule_names: Iterable[str]) -> int:
    """Forget these rules' states (after changing a rule, to evaluate it from scratch)."""
    names = list(dict.fromkeys(rule_names))
    if not names:
        return 0
    return conn.execute(sa.delete(alert_state).where(alert_state.c.rule.in_(names))).rowcount


def _insert(conn: Connection) -> postgresql.Insert | sqlite.Insert:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(alert_state)
    return sqlite.insert(alert_state)
