"""EOD consolidation after a day of cycles: outcomes, daily metrics, the mirror, one summary.

The clock is pinned at 16:30 ET on the session (EOD is due 20 minutes after the close), so
the summary is a live one, not a stale catch-up.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine

from dgas_pipeline.store import repositories as repo
from dgas_pipeline.store import tables
from dgas_pipeline.store.engine import write_transaction
from dgas_pipeline.store.schema import ensure_schema
from dgas_pipeline_tests.defs.conftest import SESSION, CycleEnv, channels, session_bars
from dgas_pipeline_tests.notify.servers import Webhook
from dgas_pipeline_tests.store.rows import signal_row

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


# -- the summary: an early close, and when it is too late to send ------------------------------

EARLY_DAY = date(2026, 11, 27)  # Black Friday: closes 13:00 ET = 18:00Z, EOD due 13:20 ET
EARLY_CLOSE = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
EARLY_DUE = EARLY_CLOSE + timedelta(minutes=20)


def _store(env: CycleEnv, rows: list[tuple[str, str, str, float, str, datetime | None]]) -> None:
    """(symbol, type, issued at ISO, confidence, outcome, evaluated_at) as EOD leaves them."""
    ensure_schema(env.db_url)
    with write_transaction(env.engine) as conn:
        for symbol, kind, issued, confidence, outcome, judged_at in rows:
            (signal_id,) = repo.upsert_signals(
                conn,
                [
                    signal_row(
                        symbol=symbol,
                        signal_type=kind,
                        signal_timestamp=datetime.fromisoformat(issued),
                        confidence=confidence,
                    )
                ],
            )
            if judged_at is not None:
                pnl = {"WIN": 2.0, "LOSS": -1.5, "NEUTRAL": 0.25}[outcome]
                verdict = {"id": signal_id, "outcome": outcome, "pnl_pct": pnl}
                repo.update_outcomes(conn, [verdict | {"evaluated_at": judged_at}])


def test_eod_summary_of_an_early_close_lists_the_sessions_signals_and_verdicts(
    cycle_env: CycleEnv, webhook: Webhook
) -> None:
    cycle_env.configure(notifications=channels(webhook))
    wednesday_close = datetime(2026, 11, 25, 21, 0, tzinfo=UTC)
    _store(
        cycle_env,
        [
            # issued Wednesday, judged at Friday's close
            ("AAPL", "LONG", "2026-11-25T15:00+00:00", 0.80, "WIN", EARLY_CLOSE),
            ("MSFT", "SHORT", "2026-11-25T16:00+00:00", 0.70, "LOSS", EARLY_CLOSE),
            ("NVDA", "LONG", "2026-11-25T17:00+00:00", 0.65, "NEUTRAL", EARLY_CLOSE),
            # issued Wednesday, judged at Wednesday's close: not Friday's
            ("META", "LONG", "2026-11-25T15:30+00:00", 0.90, "WIN", wednesday_close),
            # issued Friday: one judged already, two on the 13:00 bar close, still pending
            ("GOOGL", "LONG", "2026-11-27T15:00+00:00", 0.75, "WIN", EARLY_CLOSE),
            ("SPY", "LONG", "2026-11-27T18:00+00:00", 0.62, "PENDING", None),
            ("QQQ", "SHORT", "2026-11-27T18:00+00:00", 0.68, "PENDING", None),
            # issued at the next session: not Friday's
            ("AMZN", "SHORT", "2026-11-30T15:00+00:00", 0.70, "PENDING", None),
        ],
    )

    with time_machine.travel(EARLY_DUE, tick=True):
        result = cycle_env.run_eod(EARLY_DAY)
    assert result.success

    (summary,) = [p for p in webhook.payloads() if p["kind"] == "eod"]
    assert summary["date"] == "2026-11-27" and summary["stale"] is False
    assert {k: summary[k] for k in ("cycles", "signals", "evaluated", "pending")} == {
        "cycles": 0,
        "signals": 3,
        "evaluated": 4,
        "pending": 2,
    }
    assert (summary["wins"], summary["losses"], summary["neutrals"]) == (2, 1, 1)
    assert summary["win_rate"] == 0.5
    assert summary["by_type"] == {"LONG": 2, "SHORT": 1}

    (event,) = result.asset_materializations_for_node("eod_consolidation")
    markdown = event.metadata["summary"].value
    assert markdown.splitlines() == [
        "**End of day 2026-11-27**, close 13:00 EST (early close: Black Friday)",
        "",
        "- cycles: 0",
        "- signals issued: 3 (LONG 2, SHORT 1)",
        "- judged at this close: 4 (WIN 2, LOSS 1, NEUTRAL 1); win rate 50%",
        "- issued this session, still pending: 2",
        "",
        "| issued | symbol | type | confidence | entry | stop | target | outcome | P&L % |",
        "|---|---|---|---|---|---|---|---|---|",
        "| 2026-11-25 10:00 | AAPL | LONG | 0.80 | 100.00 | 98.50 | 103.00 | WIN | 2.00 |",
        "| 2026-11-25 11:00 | MSFT | SHORT | 0.70 | 100.00 | 98.50 | 103.00 | LOSS | -1.50 |",
        "| 2026-11-25 12:00 | NVDA | LONG | 0.65 | 100.00 | 98.50 | 103.00 | NEUTRAL | 0.25 |",
        "| 2026-11-27 10:00 | GOOGL | LONG | 0.75 | 100.00 | 98.50 | 103.00 | WIN | 2.00 |",
        "| 2026-11-27 13:00 | QQQ | SHORT | 0.68 | 100.00 | 98.50 | 103.00 | PENDING | - |",
        "| 2026-11-27 13:00 | SPY | LONG | 0.62 | 100.00 | 98.50 | 103.00 | PENDING | - |",
    ]
    assert event.metadata["stale_summary"].value is False
    written = Path(event.metadata["summary_file"].value)
    assert written == cycle_env.home / "storage" / "reports" / "eod" / "2026-11-27.md"
    assert written.read_text(encoding="utf-8") == markdown + "\n"
    # The day's metrics count Friday's signals only (GOOGL, the one decided), not Monday's.
    (win_rate,) = cycle_env.rows(
        tables.prediction_metrics, tables.prediction_metrics.c.metric_type == "win_rate"
    )
    assert (win_rate["metric_value"], win_rate["metadata"]["signals"]) == (1.0, 1)


@pytest.mark.parametrize(
    ("late_by", "stale"),
    [(timedelta(minutes=45), False), (timedelta(minutes=45, seconds=1), True)],
    ids=["exactly-stale-after-is-live", "a-second-more-is-stale"],
)
def test_eod_summary_is_stale_past_stale_after_minutes_from_its_due_time(
    cycle_env: CycleEnv, webhook: Webhook, late_by: timedelta, stale: bool
) -> None:
    cycle_env.configure(notifications=channels(webhook), stale_after_minutes=45)
    with time_machine.travel(EARLY_DUE + late_by, tick=False):
        result = cycle_env.run_eod(EARLY_DAY)
    assert result.success
    (event,) = result.asset_materializations_for_node("eod_consolidation")
    assert event.metadata["stale_summary"].value is stale
    log = cycle_env.rows(tables.notification_log)
    assert {(r["message_key"], r["status"]) for r in log} == {
        ("eod:2026-11-27", "STALE" if stale else "SENT")
    }
    sent = [p for p in webhook.payloads() if p["kind"] == "eod"]
    assert [p["stale"] for p in sent] == ([] if stale else [False])
