"""Alert events over historical bars: what the rules would have done, session by session.

Replay is live evaluation run forward over the past, not a second implementation: each
session is evaluated with exactly the bars a live cycle of that session reads (the
`history_sessions` sessions up to it, `market.bars.history_start`) and the state carried
from the session before. Since indicators never look ahead, a live cycle at any bar of the
session sees the same values for the bars closed by then, so replay and live evaluation
produce the same events; users can trust a rule they tested with `dgas alerts replay`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pandas as pd

from dgas_pipeline.alerts.evaluate import AlertEvent, Evaluation, evaluate_rules
from dgas_pipeline.alerts.rules import AlertRule
from dgas_pipeline.alerts.state import AlertState, StateKey
from dgas_pipeline.market.bars import history_start
from dgas_pipeline.market.sessions import MarketHoursManager, TradingSession


@dataclass(frozen=True)
class ReplayWindow:
    """The sessions to replay and the bars to fetch for them (history included)."""

    sessions: list[TradingSession]
    fetch_start: datetime | None
    fetch_end: datetime | None


def replay_window(
    market: MarketHoursManager, start: date, end: date, history_sessions: int
) -> ReplayWindow:
    sessions = market.sessions_between(start, end)
    if not sessions:
        return ReplayWindow([], None, None)
    first_open, _ = _hours(sessions[0])
    _, last_close = _hours(sessions[-1])
    return ReplayWindow(sessions, history_start(market, first_open, history_sessions), last_close)


def replay_rules(
    rules: Iterable[AlertRule],
    bars: pd.DataFrame,
    market: MarketHoursManager,
    *,
    start: date,
    end: date,
    history_sessions: int,
    now: datetime | None = None,
    states: Mapping[StateKey, AlertState] | None = None,
    transitions: bool = False,
) -> Evaluation:
    """Events of `rules` on the bars of the sessions from `start` to `end` (inclusive).

    `bars`: base bars covering `replay_window(...)`'s fetch range. Bars before `start` only
    warm the indicators up and give the first bar its previous bar. Bars that had not closed
    by `now` (default: the current time) are not evaluated.
    """
    rules = list(rules)
    window = replay_window(market, start, end, history_sessions)
    now = now or datetime.now(UTC)
    current: dict[StateKey, AlertState] = dict(states or {})
    events: list[AlertEvent] = []
    if not window.sessions or bars.empty:
        return Evaluation(events=[], states=current)
    first_open, _ = _hours(window.sessions[0])
    ts = bars["ts"]
    for session in window.sessions:
        opened, closed = _hours(session)
        if opened >= now:
            break
        history = history_start(market, opened, history_sessions)
        done = evaluate_rules(
            rules,
            bars[(ts >= history) & (ts < closed)],
            current,
            as_of=min(closed, now),
            since=first_open,
            transitions=transitions,
        )
        events.extend(done.events)
        current = done.states
    return Evaluation(events=events, states=current)


def _hours(session: TradingSession) -> tuple[datetime, datetime]:
    if session.open is None or session.close is None:
        raise ValueError(f"{session.date} is not a trading session ({session.reason})")
    return session.open, session.close
