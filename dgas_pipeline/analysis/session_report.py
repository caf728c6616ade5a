"""The end-of-day summary of one session: what was signalled and what became of signals.

Two sets, because a signal is judged when its horizon (about one session) has passed: the
signals *issued* during the session (mostly still PENDING at its close) and the signals
*judged* at its close (mostly the previous session's). The win rate is over the judged ones,
wins / (WIN + LOSS + NEUTRAL), as in `metrics.period_metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd

from dgas_pipeline.analysis.outcomes import LOSS, NEUTRAL, PENDING, WIN
from dgas_pipeline.analysis.report_markdown import markdown_table, number, percent

SIGNAL_ORDER = ("LONG", "SHORT", "EXIT_LONG", "EXIT_SHORT")
TABLE_HEADERS = (
    "issued",
    "symbol",
    "type",
    "confidence",
    "entry",
    "stop",
    "target",
    "outcome",
    "P&L %",
)


@dataclass(frozen=True)
class SessionReport:
    summary: dict[str, Any]  # what the EOD notification lists, in this order; no win_rate
    # when nothing was judged (a rate of nothing is not 0 %)
    markdown: str


def session_report(
    issued: pd.DataFrame,
    judged: pd.DataFrame,
    *,
    day: date,
    close: datetime,
    early_close: bool,
    reason: str | None,
    cycles: int,
    tz: str,
) -> SessionReport:
    """The summary of session `day` closing at `close` (UTC).

    `issued` / `judged`: stored signal rows (symbol, signal_timestamp, signal_type,
    confidence, entry_price, stop_loss, target_price, outcome, pnl_pct, id); either may be
    empty. `cycles`: the session's cycle runs.
    """
    by_type = _counts(issued, "signal_type", SIGNAL_ORDER)
    verdicts = _counts(judged, "outcome", (WIN, LOSS, NEUTRAL))
    decided = sum(verdicts.values())
    win_rate = verdicts.get(WIN, 0) / decided if decided else None
    pending = int((issued["outcome"] == PENDING).sum()) if len(issued) else 0
    summary: dict[str, Any] = {
        "date": day,
        "cycles": cycles,
        "signals": len(issued),
        "evaluated": decided,
        "wins": verdicts.get(WIN, 0),
        "losses": verdicts.get(LOSS, 0),
        "neutrals": verdicts.get(NEUTRAL, 0),
        **({"win_rate": win_rate} if win_rate is not None else {}),
        "pending": pending,
        "by_type": by_type,
    }
    closes = pd.Timestamp(close).tz_convert(tz)
    heading = f"**End of day {day.isoformat()}**, close {closes:%H:%M} {closes.tzname()}"
    if early_close:
        heading += f" (early close{': ' + reason if reason else ''})"
    lines = [
        heading,
        "",
        f"- cycles: {cycles}",
        f"- signals issued: {len(issued)}{_listed(by_type)}",
        f"- judged at this close: {decided}{_listed(verdicts)}; win rate {percent(win_rate)}",
        f"- issued this session, still pending: {pending}",
    ]
    rows = _table_rows(issued, judged, tz)
    if rows:
        lines += ["", markdown_table(TABLE_HEADERS, rows)]
    else:
        lines += ["", "No signal was issued or judged this session."]
    return SessionReport(summary, "\n".join(lines))


def _counts(frame: pd.DataFrame, column: str, order: tuple[str, ...]) -> dict[str, int]:
    """Counts in a fixed order (known values first), so summaries line up day to day."""
    if not len(frame):
        return {}
    counts = frame[column].astype(str).value_counts()
    known = [v for v in order if v in counts.index]
    other = sorted(v for v in counts.index if v not in order)
    return {v: int(counts[v]) for v in (*known, *other)}


def _listed(counts: dict[str, int]) -> str:
    return f" ({', '.join(f'{k} {n}' for k, n in counts.items())})" if counts else ""


def _table_rows(issued: pd.DataFrame, judged: pd.DataFrame, tz: str) -> list[tuple[str, ...]]:
    both = [f for f in (judged, issued) if len(f)]
    if not both:
        return []
    frame = pd.concat(both, ignore_index=True).drop_duplicates("id")
    frame = frame.assign(
        signal_timestamp=pd.to_datetime(frame["signal_timestamp"], utc=True)
    ).sort_values(["signal_timestamp", "symbol"], kind="stable")
    return [
        (
            f"{row['signal_timestamp'].tz_convert(tz):%Y-%m-%d %H:%M}",
            str(row["symbol"]),
            str(row["signal_type"]),
            number(row["confidence"]),
            number(row["entry_price"]),
            number(row["stop_loss"]),
            number(row["target_price"]),
            str(row["outcome"]),
            number(row.get("pnl_pct"), 2),
        )
        for row in frame.to_dict("records")
    ]
