"""`dgas alerts replay` against `dgas bars`: the events a rules file gives are exactly the
crossings computed by hand from the bars the same provider prints.

Bars come from the synthetic provider; the sessions are the ones alerts/test_replay.py
replays against live evaluation.
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from dgas_pipeline.cli.alerts import render_replay
from dgas_pipeline.cli.main import main
from dgas_pipeline_tests.alerts.bars import market
from dgas_pipeline_tests.alerts.test_replay import END, START


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
    assert dgas_json(capsys, "alerts", "replay", str(path), *thanksgiving) == {
        "timezone": "America/New_York",
        "events": [],
    }


_EVENT = {
    "bar_start": "2026-07-01T13:30:00+00:00",
    "rule": "breakout",
    "symbol": "SPY",
    "state": "FIRED",
    "value": 1.5,
}


@pytest.mark.parametrize(
    ("tz_name", "header", "local"),
    [
        ("America/New_York", "bar start (ET)", "Wed 2026-07-01 09:30"),
        ("Europe/London", "bar start (Europe/London)", "Wed 2026-07-01 14:30"),
        ("Asia/Tokyo", "bar start (Asia/Tokyo)", "Wed 2026-07-01 22:30"),
    ],
)
def test_the_replay_table_shows_times_in_the_exchange_zone_it_names(
    tz_name: str, header: str, local: str
) -> None:
    text = render_replay({"timezone": tz_name, "events": [_EVENT]})
    head, row, count = text.splitlines()
    assert head.startswith(header)
    assert row.startswith(local)
    assert count == "1 events"
