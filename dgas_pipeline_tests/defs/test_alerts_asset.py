"""The `alerts` asset inside the cycle: a rule fires once, a rerun never fires or sends twice."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
import time_machine
import yaml

from dgas_pipeline.market.bars import bar_for_key
from dgas_pipeline.store import tables
from dgas_pipeline_tests.defs.conftest import CycleEnv, default_market, live_at

BAR_KEY = "2026-11-20-14:30"
ALWAYS_TRUE = {
    "alerts": [
        {
            "name": "aapl-above-zero",
            "symbols": ["AAPL"],
            "timeframe": "30min",
            "when": {"field": "close", "op": "gt", "value": 0},
            "rearm": {"cooldown_minutes": 10_000, "hysteresis": 0, "persistence_bars": 1},
            "channels": ["console"],
        }
    ]
}


def _alert_log(env: CycleEnv) -> list[dict[str, object]]:
    log = tables.notification_log
    return env.rows(log, log.c.message_key.like("alert:%"))


def test_a_rule_fires_once_in_its_cycle_and_a_rerun_sends_nothing_more(
    cycle_env: CycleEnv, tmp_path: Path
) -> None:
    rules = tmp_path / "alerts.yaml"
    rules.write_text(yaml.safe_dump(ALWAYS_TRUE), encoding="utf-8")
    cycle_env.configure(symbols=["AAPL", "MSFT"], alerts_file=str(rules))
    bar = bar_for_key(default_market(), BAR_KEY, timedelta(minutes=30))

    with time_machine.travel(live_at(bar), tick=True):
        first = cycle_env.run_cycle(BAR_KEY)
        second = cycle_env.run_cycle(BAR_KEY)

    assert first.success and second.success
    (logged,) = _alert_log(cycle_env)
    assert logged["message_key"].startswith("alert:aapl-above-zero:AAPL:")
    assert logged["status"] == "SENT"
    states = cycle_env.rows(tables.alert_state)
    assert [(s["rule"], s["symbol"], s["state"]) for s in states] == [
        ("aapl-above-zero", "AAPL", "TRIGGERED")
    ]
    materialized = first.asset_materializations_for_node("alerts")
    assert materialized[0].metadata["firings"].value == 1
    assert second.asset_materializations_for_node("alerts")[0].metadata["firings"].value == 0


def test_without_an_alerts_file_the_asset_does_nothing(cycle_env: CycleEnv) -> None:
    cycle_env.configure(symbols=["AAPL"])
    bar = bar_for_key(default_market(), BAR_KEY, timedelta(minutes=30))
    with time_machine.travel(live_at(bar), tick=True):
        result = cycle_env.run_cycle(BAR_KEY)
    assert result.success
    assert _alert_log(cycle_env) == []
    with cycle_env.engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(tables.alert_state)).scalar() == 0
        )
