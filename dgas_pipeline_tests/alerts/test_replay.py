"""Replay equals live evaluation, across restarts (`dgas alerts replay`: cli/test_alerts.py).

Live evaluation is driven here the way the cycle drives it: once per 30-min bar, with the
history a cycle reads (`history_sessions` sessions up to the bar) and the state read from
and written back to the database in between, i.e. a restart after every bar, cooldowns
included. Bars come from the synthetic provider, the same ones `dgas bars` prints.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from sqlalchemy.engine import Engine

from dgas_pipeline.alerts.evaluate import AlertEvent, evaluate_rules
from dgas_pipeline.alerts.replay import replay_rules, replay_window
from dgas_pipeline.alerts.rules import AlertRule
from dgas_pipeline.alerts.state import TRIGGERED, AlertState, StateKey
from dgas_pipeline.alerts.store import get_alert_states, save_alert_states
from dgas_pipeline.alerts.validation import parse_rule_file
from dgas_pipeline.data import SyntheticProvider, fetch_bars
from dgas_pipeline.market.bars import history_start
from dgas_pipeline.store.engine import dispose_engine, make_engine, write_transaction
from dgas_pipeline_tests.alerts.bars import (
    MON,
    THIRTY_MINUTES,
    bar_starts,
    market,
    one_rule,
    session_bars,
)

START, END = date(2025, 11, 3), date(2025, 11, 14)  # two weeks, ten sessions
HISTORY_SESSIONS = 10
NOW = datetime(2026, 1, 1, tzinfo=UTC)

RULES: list[dict[str, Any]] = [
    {
        "name": "breakout",
        "symbols": ["SPY", "AAPL"],
        "timeframe": "30min",
        "when": {
            "all": [
                {
                    "field": "close",
                    "op": "crosses_above",
                    "ref": {"indicator": {"type": "envelope", "output": "upper"}},
                },
                {"not": {"field": "volume", "op": "lt", "value": 1000}},
            ]
        },
        "rearm": {"cooldown_minutes": 120, "hysteresis": 0.05},
    },
    {
        "name": "above-pldot",
        "symbols": ["SPY"],
        "timeframe": "1h",
        "when": {"field": "close", "op": "gt", "ref": {"indicator": {"type": "pldot"}}},
        "rearm": {"persistence_bars": 2, "hysteresis": 0.02},
    },
]


@pytest.fixture(scope="module")
def synthetic_bars() -> pd.DataFrame:
    window = replay_window(market(), START, END, HISTORY_SESSIONS)
    assert window.fetch_start is not None and window.fetch_end is not None
    fetched = fetch_bars(
        [SyntheticProvider(market(), seed=0)],
        ["SPY", "AAPL"],
        window.fetch_start,
        window.fetch_end,
        THIRTY_MINUTES,
        market(),
    )
    assert not fetched.errors
    return fetched.bars


@pytest.fixture(scope="module")
def rules(synthetic_bars: pd.DataFrame) -> list[AlertRule]:
    """RULES plus a band rule on AAPL's own quartiles, with a long cooldown."""
    closes = synthetic_bars.loc[synthetic_bars["symbol"] == "AAPL", "close"]
    band = {
        "name": "band",
        "symbols": ["AAPL"],
        "timeframe": "30min",
        "when": {
            "field": "close",
            "op": "outside",
            "values": [float(closes.quantile(0.3)), float(closes.quantile(0.7))],
        },
        "rearm": {"cooldown_minutes": 240},
    }
    return parse_rule_file({"alerts": [*RULES, band]}).alerts


def live(
    rules: list[AlertRule], bars: pd.DataFrame, engine: Engine | None
) -> tuple[list[AlertEvent], list[tuple[StateKey, AlertState, datetime]]]:
    """Evaluate bar by bar like the cycle; with an engine, a restart through it every bar."""
    sessions = market().sessions_between(START, END)
    first_open = sessions[0].open
    assert first_open is not None
    memory: dict[StateKey, AlertState] = {}
    events: list[AlertEvent] = []
    restarts_in_cooldown = []
    ts = bars["ts"]
    url = engine.url.render_as_string(hide_password=False) if engine is not None else ""
    for session in sessions:
        assert session.open is not None
        history = history_start(market(), session.open, HISTORY_SESSIONS)
        for bar_start, bar_end in market().session_intervals(session.date, THIRTY_MINUTES):
            if engine is not None:
                dispose_engine(url)  # a new process: nothing kept but the database
                with make_engine(url).connect() as conn:
                    states = get_alert_states(conn, [r.name for r in rules])
            else:
                states = memory
            for key, state in states.items():
                cooldown = next(r for r in rules if r.name == key[0]).rearm.cooldown_minutes
                fired = state.last_fired_bar
                if fired and cooldown and bar_start - fired < timedelta(minutes=cooldown):
                    restarts_in_cooldown.append((key, state, bar_start))
            done = evaluate_rules(
                rules,
                bars[(ts >= history) & (ts < bar_end)],
                states,
                as_of=bar_end,
                since=first_open,
            )
            events.extend(done.events)
            if engine is not None:
                with write_transaction(make_engine(url)) as conn:
                    save_alert_states(conn, done.states.values())
            else:
                memory = done.states
    return events, restarts_in_cooldown


def in_order(events: list[AlertEvent]) -> list[AlertEvent]:
    """Live reports a 1h bar when it closes, after the 30-min bars that started with it."""
    return sorted(events, key=lambda e: (e.bar_start, e.rule, e.symbol))


def replayed(rules: list[AlertRule], bars: pd.DataFrame) -> list[AlertEvent]:
    return replay_rules(
        rules, bars, market(), start=START, end=END, history_sessions=HISTORY_SESSIONS, now=NOW
    ).events


def test_replay_equals_live_evaluation_bar_by_bar(
    rules: list[AlertRule], synthetic_bars: pd.DataFrame
) -> None:
    expected, _ = live(rules, synthetic_bars, None)
    assert replayed(rules, synthetic_bars) == in_order(expected)
    assert {e.rule for e in expected} == {"breakout", "above-pldot", "band"}


def test_replay_equals_live_evaluation_restarted_from_the_database_after_every_bar(
    rules: list[AlertRule], synthetic_bars: pd.DataFrame, engine: Engine
) -> None:
    events, in_cooldown = live(rules, synthetic_bars, engine)
    assert in_order(events) == replayed(rules, synthetic_bars)
    # Restarts did fall inside cooldowns, some with the rule still TRIGGERED: the hard cases.
    assert {key[0] for key, _, _ in in_cooldown} == {"breakout", "band"}
    assert any(state.state == TRIGGERED for _, state, _ in in_cooldown)


def test_a_restart_in_the_middle_of_a_cooldown_keeps_the_crossing_inside_it_quiet(
    engine: Engine,
) -> None:
    # crossings at 10:00, 11:00 (60 min: inside the 120-min cooldown) and 12:30 (150 min)
    closes = [99, 101, 99, 101, 99, 99, 101]
    bars = session_bars({MON: closes})
    rule = one_rule(
        {"field": "close", "op": "crosses_above", "value": 100}, rearm={"cooldown_minutes": 120}
    )
    starts = bar_starts(MON)
    closed = starts[6] + THIRTY_MINUTES
    whole = evaluate_rules([rule], bars, {}, as_of=closed).events

    before = evaluate_rules([rule], bars.iloc[:3], {}, as_of=starts[3])  # up to 10:30
    with write_transaction(engine) as conn:
        save_alert_states(conn, before.states.values())
    url = engine.url.render_as_string(hide_password=False)
    dispose_engine(url)  # the process "restarts": nothing kept but the database
    with make_engine(url).connect() as conn:
        reloaded = get_alert_states(conn, ["r"])
    assert reloaded[("r", "SPY")].last_fired_bar == starts[1]  # 10:00, cooling down until 12:00
    after = evaluate_rules([rule], bars, reloaded, as_of=closed).events

    assert [e.bar_start for e in before.events + after] == [starts[1], starts[6]]
    assert before.events + after == whole


def test_replay_evaluates_nothing_that_had_not_closed_by_now(
    rules: list[AlertRule], synthetic_bars: pd.DataFrame
) -> None:
    sessions = market().sessions_between(START, END)
    cut = sessions[4].open + timedelta(hours=2)  # type: ignore[operator]
    early = replay_rules(
        rules,
        synthetic_bars,
        market(),
        start=START,
        end=END,
        history_sessions=HISTORY_SESSIONS,
        now=cut,
    )
    assert early.events == [e for e in replayed(rules, synthetic_bars) if e.bar_end <= cut]
    assert all(s.last_bar_evaluated < cut for s in early.states.values())  # type: ignore[operator]
