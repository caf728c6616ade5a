"""Replay equals live evaluation, across restarts; `dgas alerts replay` against `dgas bars`.

Live evaluation is driven here the way the cycle drives it: once per 30-min bar, with the
history a cycle reads (`history_sessions` sessions up to the bar) and the state read from
and written back to the database in between, i.e. a restart after every bar, cooldowns
included. Bars come from the synthetic provider, the same ones `dgas bars` prints.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from sqlalchemy.engine import Engine

from dgas_pipeline.alerts.evaluate import AlertEvent, evaluate_rules
from dgas_pipeline.alerts.replay import replay_rules, replay_window
from dgas_pipeline.alerts.rules import AlertRule
from dgas_pipeline.alerts.state import TRIGGERED, AlertState, StateKey
from dgas_pipeline.alerts.store import get_alert_states, save_alert_states
from dgas_pipeline.alerts.validation import parse_rule_file
from dgas_pipeline.cli.main import main
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


# -- `dgas alerts replay` against `dgas bars` -----------------------------------------------------


@pytest.fixture
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DGAS_CONFIG", raising=False)


def dgas_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code = main([*argv, "--json"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, ""), err
    document: dict[str, Any] = json.loads(out)
    return document


def crossings(bars: list[dict[str, Any]], level: float, since: str) -> list[dict[str, Any]]:
    """Bars whose close crossed above `level` from the bar before, computed by hand."""
    return [
        bar
        for before, bar in itertools.pairwise(bars)
        if before["close"] <= level < bar["close"] and bar["ts"] >= since
    ]


def thinned(times: list[datetime], minutes: int) -> list[datetime]:
    """What a cooldown keeps: each crossing at least `minutes` after the last one kept."""
    kept: list[datetime] = []
    for at in times:
        if not kept or at - kept[-1] >= timedelta(minutes=minutes):
            kept.append(at)
    return kept


@pytest.mark.usefixtures("_isolated")
def test_dgas_alerts_replay_returns_exactly_the_bars_where_the_close_crossed_the_level(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # One session before START for the first bar's previous bar, then the replayed sessions.
    bars = dgas_json(capsys, "bars", "SPY", "--start", "2025-10-31", "--end", END.isoformat())
    first_open = market().sessions_between(START, START)[0].open
    assert first_open is not None
    since = first_open.isoformat().replace("+00:00", "Z")
    # The level crossed most often (half a cent above a close, so no close sits on it).
    levels = {round(b["close"] + 0.005, 3) for b in bars["bars"] if b["ts"] >= since}
    level = max(sorted(levels), key=lambda x: len(crossings(bars["bars"], x, since)))
    expected = crossings(bars["bars"], level, since)
    assert len(expected) >= 5

    rule = {
        "name": "spy-level",
        "symbols": ["SPY"],
        "timeframe": "30min",
        "when": {"field": "close", "op": "crosses_above", "value": level},
    }
    plain = tmp_path / "plain.yaml"
    plain.write_text(yaml.safe_dump({"alerts": [rule]}), encoding="utf-8")
    argv = ("--start", START.isoformat(), "--end", END.isoformat())
    replay = dgas_json(capsys, "alerts", "replay", str(plain), *argv)
    assert replay["events"] == [
        {
            "rule": "spy-level",
            "symbol": "SPY",
            "bar_start": bar["ts"],
            "state": "TRIGGERED",
            "value": bar["close"],
        }
        for bar in expected
    ]

    # The cooldown variant suppresses exactly the crossings inside its window. The window is
    # the median gap between crossings, so some fall inside it and one sits on its edge.
    times = [datetime.fromisoformat(b["ts"]) for b in expected]
    gaps = sorted(int((b - a).total_seconds()) // 60 for a, b in itertools.pairwise(times))
    cooldown = gaps[len(gaps) // 2]
    kept = thinned(times, cooldown)
    assert 0 < len(kept) < len(times), "the window must suppress some crossings"
    cooled = tmp_path / "cooled.yaml"
    cooled.write_text(
        yaml.safe_dump({"alerts": [{**rule, "rearm": {"cooldown_minutes": cooldown}}]}),
        encoding="utf-8",
    )
    replay = dgas_json(capsys, "alerts", "replay", str(cooled), *argv)
    assert [datetime.fromisoformat(e["bar_start"]) for e in replay["events"]] == kept


@pytest.mark.usefixtures("_isolated")
def test_dgas_alerts_replay_transitions_lists_re_arms_too(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "rules.yaml"
    rule = {
        "name": "up",
        "symbols": ["SPY"],
        "timeframe": "1h",
        "when": {"field": "close", "op": "gt", "ref": {"indicator": {"type": "pldot"}}},
    }
    path.write_text(yaml.safe_dump({"alerts": [rule]}), encoding="utf-8")
    argv = ("alerts", "replay", str(path), "--start", "2025-11-10", "--end", "2025-11-12")
    fired = dgas_json(capsys, *argv)["events"]
    everything = dgas_json(capsys, *argv, "--transitions")["events"]
    assert [e for e in everything if e["state"] == "TRIGGERED"] == fired
    states = [e["state"] for e in everything]
    assert states[0] == "TRIGGERED"
    assert all(a != b for a, b in itertools.pairwise(states))  # strictly alternating

    code = main(list(argv))
    out, _ = capsys.readouterr()
    assert code == 0
    assert out.splitlines()[-1] == f"{len(fired)} events"


@pytest.mark.usefixtures("_isolated")
def test_dgas_alerts_replay_refuses_an_end_before_the_start(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "alerts:\n  - {name: x, symbols: [SPY], timeframe: 1h, "
        "when: {field: close, op: gt, value: 1}}\n",
        encoding="utf-8",
    )
    code = main(["alerts", "replay", str(path), "--start", "2025-11-12", "--end", "2025-11-10"])
    _, err = capsys.readouterr()
    assert code == 2
    assert err == "dgas: --end: '2025-11-10' is before --start 2025-11-12\n"


@pytest.mark.usefixtures("_isolated")
def test_dgas_alerts_replay_over_a_holiday_only_has_no_events(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "alerts:\n  - {name: x, symbols: [SPY], timeframe: 1h, "
        "when: {field: close, op: gt, value: 1}}\n",
        encoding="utf-8",
    )
    thanksgiving = ("--start", "2025-11-27", "--end", "2025-11-27")
    assert dgas_json(capsys, "alerts", "replay", str(path), *thanksgiving) == {"events": []}
