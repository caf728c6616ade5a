"""EOD consolidation after a day of cycles: outcomes, daily metrics, the mirror, one summary.

The clock is pinned at 16:30 ET on the session (EOD is due 20 minutes after the close), so
the summary is a live one, not a stale catch-up.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
import time_machine

from dgas_pipeline.store import tables
from dgas_pipeline_tests.defs.conftest import SESSION, CycleEnv, channels, session_bars
from dgas_pipeline_tests.notify.servers import Webhook

EOD_RUNS_AT = datetime(2026, 11, 20, 21, 30, tzinfo=UTC)  # 16:30 ET
SESSION_OPEN = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
SESSION_CLOSE = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
DECIDED = ("WIN", "LOSS", "NEUTRAL")
OUTCOME_FIELDS = ("outcome", "actual_high", "actual_low", "actual_close", "pnl_pct", "evaluated_at")


def test_eod_judges_the_pending_signals_writes_the_days_metrics_and_summarises_once(
    cycle_env: CycleEnv, webhook: Webhook
) -> None:
    cycle_env.configure(notifications=channels(webhook))
    day_before = session_bars(SESSION.replace(day=19))
    day = session_bars(SESSION)
    first = "2026-11-19-14:00"  # the last hours of the day before, and the whole session

    with time_machine.travel(EOD_RUNS_AT, tick=True):
        cycles = cycle_env.run_cycle(first=first, last=day[-1].key)
        assert cycles.success
        first = cycle_env.run_eod(SESSION)
        judged = _signals(cycle_env)
        metrics = cycle_env.rows(tables.prediction_metrics)
        second = cycle_env.run_eod(SESSION)

    assert first.success and second.success
    signals = _signals(cycle_env)
    assert len(signals) > 0
    # Judged where the horizon (one session of bars) ended: every signal of the day before.
    before = [s for s in signals if s["signal_timestamp"] <= day_before[-1].end]
    today = [s for s in signals if s["signal_timestamp"] > day_before[-1].end]
    assert before and today
    for signal in signals:
        if signal in before or signal["outcome"] != "PENDING":
            assert signal["outcome"] in DECIDED, signal
            assert signal["evaluated_at"] is not None
            assert None not in (signal["actual_high"], signal["actual_low"])
            assert signal["actual_close"] is not None and signal["pnl_pct"] is not None
            if signal["outcome"] == "WIN":
                assert signal["pnl_pct"] > 0
            if signal["outcome"] == "LOSS":
                assert signal["pnl_pct"] < 0
        else:
            assert signal["evaluated_at"] is None and signal["pnl_pct"] is None
    # The second EOD finds nothing new to judge and changes no verdict.
    assert signals == judged

    rows = cycle_env.rows(tables.prediction_metrics)
    daily = {m["metric_type"]: m for m in rows}
    # Recomputed in place by the second EOD, not added: the same rows, the same values.
    assert [(m["id"], m["metric_type"], m["metric_value"]) for m in rows] == [
        (m["id"], m["metric_type"], m["metric_value"]) for m in metrics
    ]
    assert len(daily) == len(rows)
    assert {m["aggregation_period"] for m in daily.values()} == {"daily"}
    for metric in rows:  # strict JSON (no NaN), which PostgreSQL's JSONB insists on
        json.dumps(metric["metadata"], allow_nan=False)
    assert {m["period_start"] for m in daily.values()} == {SESSION_OPEN}
    for stage in ("data_fetch_ms", "signal_generation_ms", "notification_ms", "execution_time_ms"):
        for q in (50, 95, 99):
            assert daily[f"{stage}_p{q}"]["metric_value"] >= 0
    assert daily["error_rate"]["metric_value"] == 0.0
    assert daily["signals_per_cycle"]["metric_value"] == pytest.approx(len(today) / len(day))
    decided_today = [s for s in today if s["outcome"] in DECIDED]
    if decided_today:
        wins = sum(s["outcome"] == "WIN" for s in decided_today)
        assert daily["win_rate"]["metric_value"] == pytest.approx(wins / len(decided_today))
        assert daily["win_rate"]["metadata"]["signals"] == len(decided_today)
    else:
        assert "win_rate" not in daily

    eod_rows = cycle_env.rows(tables.prediction_runs, tables.prediction_runs.c.kind == "eod")
    assert [(r["partition_key"], r["status"]) for r in eod_rows] == [
        ("2026-11-20", "SUCCESS"),
        ("2026-11-20", "SUCCESS"),
    ]
    assert {r["dagster_run_id"] for r in eod_rows} == {first.run_id, second.run_id}
    assert all(r["bar_start"] is None and r["errors"] == [] for r in eod_rows)
    state = cycle_env.scheduler_state()
    assert state["status"] == "IDLE" and state["next_scheduled_run"] > EOD_RUNS_AT

    summaries = [p for p in webhook.payloads() if p["kind"] == "eod"]
    assert len(summaries) == 1  # the second EOD sent nothing
    (summary,) = summaries
    assert summary["date"] == "2026-11-20" and summary["stale"] is False
    assert summary["cycles"] == len(day) and summary["signals"] == len(today)
    log = cycle_env.rows(
        tables.notification_log, tables.notification_log.c.message_key.like("eod:%")
    )
    assert sorted((r["message_key"], r["channel"], r["status"]) for r in log) == [
        ("eod:2026-11-20", "console", "SENT"),
        ("eod:2026-11-20", "hook", "SENT"),
    ]


def _signals(env: CycleEnv) -> list[dict]:
    rows = env.rows(tables.generated_signals, sa.true())
    return [
        {k: r[k] for k in ("id", "symbol", "signal_timestamp", "signal_type", *OUTCOME_FIELDS)}
        for r in rows
    ]
