"""The signals of a period, by when they were issued or by when they were judged.

Both windows are `(start, end]`: a signal is stamped at its bar's close, so the signals of the
bars starting in `[open, close)` carry stamps in `(open, close]`; EOD stamps `evaluated_at`
with the session's close, so the verdicts of a session are exactly those with
`evaluated_at` in `(open, close]`. Reports and roll-ups count each signal in one period only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dgas_pipeline.store.tables import generated_signals

DECIDED = ("WIN", "LOSS", "NEUTRAL")


def signals_issued_in(conn: Connection, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Signals stamped in `(start, end]`, oldest first: a session's or an hour's signals."""
    stamp = generated_signals.c.signal_timestamp
    stmt = (
        sa.select(generated_signals)
        .where(stamp > start, stamp <= end)
        .order_by(stamp, generated_signals.c.id)
    )
    return [dict(row) for row in conn.execute(stmt).mappings()]


def signals_evaluated_in(conn: Connection, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Decided signals judged in `(start, end]`, in the order they were issued.

    A signal is judged once, so a week's calibration counts every verdict exactly once, and a
    report run after the week's last EOD is complete (issue-week would still miss the last
    session's signals, judged the next week).
    """
    judged = generated_signals.c.evaluated_at
    stmt = (
        sa.select(generated_signals)
        .where(judged > start, judged <= end, generated_signals.c.outcome.in_(DECIDED))
        .order_by(generated_signals.c.signal_timestamp, generated_signals.c.id)
    )
    return [dict(row) for row in conn.execute(stmt).mappings()]
