"""Hand-made bar series on real XNYS sessions, and a one-call way to see where a rule fires.

Prices are written out per bar so a test reads as an answer table: closes in, the bars the
rule fired on out. Opens repeat the previous close and highs/lows bracket open and close, so
the bars pass the data layer's checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import pandas as pd

from dgas_pipeline.alerts.evaluate import AlertEvent, evaluate_rules
from dgas_pipeline.alerts.rules import AlertRule
from dgas_pipeline.alerts.state import AlertState, StateKey
from dgas_pipeline.alerts.validation import parse_rule_file
from dgas_pipeline.market import MarketHoursManager

THIRTY_MINUTES = timedelta(minutes=30)
# Thanksgiving week 2025: Wednesday, Thanksgiving closed, Friday closes at 13:00 ET.
MON, TUE, WED, FRI = date(2025, 11, 24), date(2025, 11, 25), date(2025, 11, 26), date(2025, 11, 28)
FAR_FUTURE = datetime(2030, 1, 1, tzinfo=UTC)


@cache
def market() -> MarketHoursManager:
    return MarketHoursManager("XNYS")


def bar_starts(day: date, interval: timedelta = THIRTY_MINUTES) -> list[datetime]:
    return [start for start, _ in market().session_intervals(day, interval)]


def session_bars(
    closes: Mapping[date, Sequence[float]],
    *,
    symbol: str = "SPY",
    volumes: Mapping[date, Sequence[float]] | None = None,
) -> pd.DataFrame:
    """30-min bars of `symbol`: the first len(closes[day]) bars of each session, in order."""
    rows: list[dict[str, Any]] = []
    previous: float | None = None
    for day in sorted(closes):
        session = market().session(day)
        intervals = market().session_intervals(day, THIRTY_MINUTES)
        day_closes = list(closes[day])
        if len(day_closes) > len(intervals):
            raise ValueError(f"{day}: {len(day_closes)} closes for {len(intervals)} bars")
        day_volumes = list((volumes or {}).get(day, [1_000_000.0] * len(day_closes)))
        used = intervals[: len(day_closes)]
        for (start, _), close, volume in zip(used, day_closes, day_volumes, strict=True):
            opened = close if previous is None else previous
            rows.append(
                {
                    "symbol": symbol,
                    "ts": pd.Timestamp(start),
                    "open": opened,
                    "high": max(opened, close) + 0.01,
                    "low": min(opened, close) - 0.01,
                    "close": float(close),
                    "volume": float(volume),
                    "session": day,
                    "session_open": pd.Timestamp(session.open),
                    "session_close": pd.Timestamp(session.close),
                }
            )
            previous = close
    return pd.DataFrame(rows)


def one_rule(
    when: Mapping[str, Any],
    *,
    rearm: Mapping[str, Any] | None = None,
    timeframe: str = "30min",
    symbols: Sequence[str] = ("SPY",),
    name: str = "r",
) -> AlertRule:
    """A rule built through the published schema and the model, like one read from a file."""
    rule: dict[str, Any] = {
        "name": name,
        "symbols": list(symbols),
        "timeframe": timeframe,
        "when": dict(when),
    }
    if rearm is not None:
        rule["rearm"] = dict(rearm)
    return parse_rule_file({"alerts": [rule]}).alerts[0]


def events(
    rule: AlertRule,
    bars: pd.DataFrame,
    *,
    as_of: datetime = FAR_FUTURE,
    states: Mapping[StateKey, AlertState] | None = None,
    transitions: bool = False,
) -> list[AlertEvent]:
    return evaluate_rules([rule], bars, states or {}, as_of=as_of, transitions=transitions).events


def fired_at(rule: AlertRule, bars: pd.DataFrame, **kwargs: Any) -> list[int]:
    """Positions (in `bars`) of the bars the rule fired on."""
    starts = list(pd.DatetimeIndex(bars["ts"]))
    return [
        starts.index(pd.Timestamp(e.bar_start))
        for e in events(rule, bars, **kwargs)
        if e.state == "TRIGGERED"
    ]
