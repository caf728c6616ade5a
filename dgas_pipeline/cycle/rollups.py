"""Metric roll-ups into `prediction_metrics`, and the periods the schedules roll up.

Cron strings fire on the exchange's wall clock; each period is then checked against the
calendar, and a period that held no session is a reason to skip, never a silent empty row.
Daily metrics are not rolled up here: the EOD run of each session writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from dgas_pipeline.analysis.calibration_report import calibration_markdown
from dgas_pipeline.analysis.metrics import period_metrics
from dgas_pipeline.cycle.stage import Markdown
from dgas_pipeline.market import MarketHoursManager, TradingSession
from dgas_pipeline.market.weeks import monday_of, week_sessions
from dgas_pipeline.store import repositories as repo
from dgas_pipeline.store.engine import write_transaction
from dgas_pipeline.store.period_signals import signals_issued_in


@dataclass(frozen=True)
class Period:
    """One roll-up: `[start, end)` in UTC, and the key its run is known by."""

    name: str  # hourly | daily | weekly | monthly
    start: datetime
    end: datetime
    key: str


@dataclass(frozen=True)
class RollUp:
    metrics: int
    runs: int
    signals: int
    calibration: Markdown | None


def roll_up(engine: Engine, period: str, start: datetime, end: datetime) -> RollUp:
    """Aggregate the period's runs and signals into prediction_metrics (idempotent upsert)."""
    with write_transaction(engine) as conn:
        # Cycles by bar start in [start, end), their signals stamped at bar ends in (start, end].
        runs = repo.runs_between(conn, start, end)
        signals = pd.DataFrame(signals_issued_in(conn, start, end))
        rows = period_metrics(runs, signals)
        repo.upsert_metrics(conn, metric_rows(rows, period, start))
    calibration = next(
        (meta.get("calibration") for name, _, meta in rows if name == "win_rate"), None
    )
    table = Markdown(calibration_markdown(pd.DataFrame(calibration))) if calibration else None
    return RollUp(len(rows), len(runs), len(signals), table)


def metric_rows(
    rows: list[tuple[str, float, dict[str, Any]]], period: str, start: datetime
) -> list[dict[str, Any]]:
    """`period_metrics` rows as `prediction_metrics` rows of one period."""
    return [
        {
            "metric_type": name,
            "metric_value": value,
            "aggregation_period": period,
            "period_start": start,
            "metadata": meta,
        }
        for name, value, meta in rows
    ]


def previous_hour(market: MarketHoursManager, local_now: datetime) -> Period | str:
    """The hour that ended at `local_now`'s hour, during a session only; else why not."""
    session = market.session(local_now.date())
    if not session.is_trading_day:
        return f"market closed: {session.reason}"
    end = local_now.replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(hours=1)
    if end <= session.open or start >= session.close:
        return f"{start:%H:%M}-{end:%H:%M} ET is outside the session"
    return Period("hourly", start.astimezone(UTC), end.astimezone(UTC), f"{start:%Y-%m-%d-%H}")


def week_of(market: MarketHoursManager, today: date) -> tuple[date, list[TradingSession]] | str:
    """The Monday and the sessions of the week `today` falls in, or why there is nothing."""
    monday = monday_of(today)
    sessions = week_sessions(market, monday)
    if not sessions:
        return f"no session in the week of {monday.isoformat()}"
    return monday, sessions


def this_week(market: MarketHoursManager, today: date) -> Period | str:
    """The week's metrics, from its first session's open to its last session's close."""
    week = week_of(market, today)
    if isinstance(week, str):
        return week
    monday, sessions = week
    return Period("weekly", sessions[0].open, sessions[-1].close, monday.isoformat())


def last_month(market: MarketHoursManager, today: date) -> Period | str:
    """The month before `today`'s, from its first session's open to its last one's close."""
    first = today.replace(day=1)
    previous_first = (first - timedelta(days=1)).replace(day=1)
    sessions = market.sessions_between(previous_first, first - timedelta(days=1))
    if not sessions:
        return f"no session in {previous_first:%Y-%m}"
    return Period("monthly", sessions[0].open, sessions[-1].close, f"{previous_first:%Y-%m}")
