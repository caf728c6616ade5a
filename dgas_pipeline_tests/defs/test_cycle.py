"""The prediction cycle end to end: a real Dagster instance on disk, our tables on SQLite and
PostgreSQL, the synthetic (or files) provider, a loopback webhook.

Live runs are pinned with time-machine a few minutes after their bar's end, as the sensor
would launch them; runs of past bars without a pinned clock are catch-ups, whose signals are
stored but not sent (stale).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa
import time_machine

from dgas_pipeline.cli.main import main
from dgas_pipeline.config import SchedulerConfig
from dgas_pipeline.data import SyntheticProvider
from dgas_pipeline.defs.names import LAUNCHED_BY_TAG
from dgas_pipeline.market.bars import history_start
from dgas_pipeline.store import tables
from dgas_pipeline.store.repositories import SIGNAL_KEY
from dgas_pipeline.store.schema import ensure_schema
from dgas_pipeline_tests.defs.conftest import (
    SESSION,
    WEEK,
    CycleEnv,
    busiest_bar,
    channels,
    default_market,
    live_at,
    session_bars,
    signals_of_session,
)
from dgas_pipeline_tests.notify.servers import Webhook

DEFAULT_SYMBOLS = list(SchedulerConfig().symbols)
BOOKKEEPING = ("id", "created_at", "updated_at", "dagster_run_id")
EARLY_CLOSE = date(2025, 11, 28)  # the day after Thanksgiving: 7 bars, the last cut at 13:00


def run_once_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    """`dgas run-once ARGV --json` in-process; stdout must be exactly one JSON document."""
    capsys.readouterr()
    code = main(["run-once", *argv, "--json"])
    out, _ = capsys.readouterr()
    summary = json.loads(out)
    assert code == (1 if summary["status"] == "FAILED" else 0)
    return summary


def signal_rows(env: CycleEnv) -> list[dict[str, Any]]:
    return sorted(env.rows(tables.generated_signals), key=lambda r: [r[k] for k in SIGNAL_KEY])


def comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in BOOKKEEPING} for r in rows]


# -- 1. dgas run-once on an empty DAGSTER_HOME -------------------------------------------------


def test_run_once_on_a_fresh_home_runs_the_bar_last_closed_and_mirrors_the_run(
    cycle_env: CycleEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    assert not cycle_env.home.exists()
    before = datetime.now(UTC)

    summary = run_once_json(capsys, "--at", "2026-11-20T15:05:00-05:00")

    assert (cycle_env.home / "dagster.yaml").is_file()
    assert summary["status"] == "SUCCESS", summary["errors"]
    assert summary["partition_key"] == "2026-11-20-14:30"
    assert summary["dagster_success"] is True
    assert (summary["symbols_requested"], summary["symbols_processed"]) == (8, 8)
    assert summary["errors"] == []
    assert all(isinstance(v, int) and v >= 0 for v in summary["timings_ms"].values())

    (run,) = cycle_env.instance.get_runs(
        filters=dg.RunsFilter(job_name="prediction_cycle", tags={LAUNCHED_BY_TAG: "cli"})
    )
    assert run.run_id == summary["run_id"]
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert run.tags["dagster/partition"] == "2026-11-20-14:30"

    (row,) = cycle_env.rows(tables.prediction_runs)
    assert row["dagster_run_id"] == summary["run_id"]
    assert (row["status"], row["kind"], row["launched_by"]) == ("SUCCESS", "cycle", "cli")
    assert row["partition_key"] == "2026-11-20-14:30"
    assert row["bar_start"] == datetime(2026, 11, 20, 19, 30, tzinfo=UTC)
    assert row["bar_end"] == datetime(2026, 11, 20, 20, 0, tzinfo=UTC)
    assert (row["symbols_requested"], row["symbols_processed"]) == (8, 8)
    assert row["signals_generated"] == summary["signals"]
    for stage in ("data_fetch_ms", "indicator_calc_ms", "signal_generation_ms", "notification_ms"):
        assert row[stage] is not None and row[stage] >= 0, stage
    assert row["execution_time_ms"] > 0
    assert row["run_timestamp"] >= before - timedelta(seconds=1)

    state = cycle_env.scheduler_state()
    assert state["status"] == "IDLE"
    assert state["current_run_id"] is None and state["error_message"] is None
    assert state["last_run_timestamp"] >= before - timedelta(seconds=1)
    assert state["next_scheduled_run"] > state["last_run_timestamp"]


# -- 2. a retried or repeated cycle ------------------------------------------------------------


def test_running_a_bar_again_adds_no_signal_and_sends_no_notification_twice(
    cycle_env: CycleEnv,
    webhook: Webhook,
    session_signals: pd.DataFrame,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bar = busiest_bar(session_signals)
    expected = session_signals[session_signals["partition_key"] == bar.key]
    cycle_env.configure(notifications=channels(webhook))
    at = live_at(bar, minutes=1).isoformat()

    with time_machine.travel(live_at(bar), tick=True):
        first = run_once_json(capsys, "--at", at)
        posts_after_first = len(webhook.requests)
        signals_after_first = signal_rows(cycle_env)
        log_after_first = cycle_env.rows(tables.notification_log)
        second = run_once_json(capsys, "--at", at)

    assert first["partition_key"] == second["partition_key"] == bar.key
    assert first["status"] == second["status"] == "SUCCESS"
    assert first["signals"] == len(expected) > 0
    assert posts_after_first == 1  # one POST listing them all
    assert len(webhook.payloads()) == len(expected)
    sent_keys = {p["message_key"] for p in webhook.payloads()}
    assert sent_keys == {
        f"signal:{r.symbol}:{r.signal_timestamp.isoformat()}:{r.signal_type}:{r.trading_timeframe}"
        for r in expected.itertuples()
    }

    assert len(webhook.requests) == posts_after_first  # the second run sent nothing
    again = signal_rows(cycle_env)  # nothing added, nothing lost, the same ids
    assert [r["id"] for r in again] == [r["id"] for r in signals_after_first]
    assert comparable(again) == comparable(signals_after_first)
    assert len(signals_after_first) == len(expected)
    assert cycle_env.rows(tables.notification_log) == log_after_first
    assert sorted((r["channel"], r["status"]) for r in log_after_first) == sorted(
        [("console", "SENT"), ("hook", "SENT")] * len(expected)
    )
    for signal in signals_after_first:
        assert signal["notification_sent"] is True
        assert sorted(signal["notification_channels"]) == ["console", "hook"]
        assert signal["notification_timestamp"] is not None
    assert len(cycle_env.rows(tables.prediction_runs)) == 2


def test_a_live_cycle_whose_candidate_has_no_confluence_zone_stores_its_signal(
    cycle_env: CycleEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    """The 15:00 bar of 2026-04-08: GOOGL's one candidate has no confluence zone at all. The
    live cycle died in the signal step (FAILED) while a backfill stored the signal; it now
    enters at the close, live as in a backfill."""
    summary = run_once_json(capsys, "--at", "2026-04-08T15:35:00-04:00")

    assert summary["partition_key"] == "2026-04-08-15:00"
    assert summary["status"] in ("SUCCESS", "PARTIAL")
    analysis_errors = [e for e in summary["errors"] if "signals: " in e or "indicators: " in e]
    assert analysis_errors == []
    backfilled = signals_of_session(date(2026, 4, 8))
    expected = backfilled[backfilled["partition_key"] == summary["partition_key"]]
    stored = signal_rows(cycle_env)
    assert summary["signals"] == len(stored) == len(expected) > 0
    assert [(s["symbol"], s["signal_type"], s["entry_price"]) for s in stored] == list(
        zip(expected["symbol"], expected["signal_type"], expected["entry_price"], strict=True)
    )
    assert ("GOOGL", 0) in [(s["symbol"], s["confluence_zones_count"]) for s in stored]


# -- 3 and 4. range runs -----------------------------------------------------------------------


def test_a_week_of_cycles_on_the_default_watchlist_yields_signals(cycle_env: CycleEnv) -> None:
    keys = [bar.key for day in pd.bdate_range(*WEEK) for bar in session_bars(day.date())]
    assert len(keys) == 65

    result = cycle_env.run_cycle(first=keys[0], last=keys[-1], launched_by="backfill")

    assert result.success
    runs = cycle_env.rows(tables.prediction_runs)
    assert sorted(r["partition_key"] for r in runs) == sorted(keys)
    assert {(r["status"], r["launched_by"], r["symbols_processed"]) for r in runs} == {
        ("SUCCESS", "backfill", 8)
    }
    assert {r["dagster_run_id"] for r in runs} == {result.run_id}
    signals = signal_rows(cycle_env)
    assert len(signals) > 0
    assert len({s["partition_key"][:10] for s in signals}) >= 3  # most sessions of the week
    assert sum(r["signals_generated"] for r in runs) == len(signals)
    by_key = {r["partition_key"]: r for r in runs}
    for signal in signals:
        assert signal["symbol"] in DEFAULT_SYMBOLS
        assert signal["signal_timestamp"] == by_key[signal["partition_key"]]["bar_end"]
    # Caught up long after the bars: stored, recorded STALE, never sent.
    log = cycle_env.rows(tables.notification_log)
    assert sorted(r["status"] for r in log) == ["STALE"] * len(signals)
    for asset in ("bars", "indicators", "signals", "notifications"):
        materialized = cycle_env.instance.get_materialized_partitions(dg.AssetKey(asset))
        assert materialized == set(keys), asset


def test_a_backfilled_session_stores_exactly_the_signals_of_its_live_cycles(
    cycle_env: CycleEnv,
) -> None:
    bars = session_bars(EARLY_CLOSE)
    assert [b.key for b in bars][-1] == "2025-11-28-12:30" and bars[-1].end.hour == 18
    for bar in bars:
        assert cycle_env.run_cycle(bar.key).success, bar.key
    live = signal_rows(cycle_env)
    live_counts = {r["partition_key"]: r["signals_generated"] for r in _cycle_rows(cycle_env)}
    assert len(live) > 0
    _empty_tables(cycle_env)

    result = cycle_env.run_cycle(first=bars[0].key, last=bars[-1].key, launched_by="backfill")

    assert result.success
    backfilled = signal_rows(cycle_env)
    assert comparable(backfilled) == comparable(live)
    assert {r["partition_key"]: r["signals_generated"] for r in _cycle_rows(cycle_env)} == (
        live_counts
    )


def _cycle_rows(env: CycleEnv) -> list[dict[str, Any]]:
    return env.rows(tables.prediction_runs, tables.prediction_runs.c.kind == "cycle")


def _empty_tables(env: CycleEnv) -> None:
    with env.engine.begin() as conn:
        for table in (
            tables.notification_log,
            tables.generated_signals,
            tables.prediction_runs,
            tables.prediction_metrics,
            tables.scheduler_state,
        ):
            conn.execute(sa.delete(table))


# -- 5. PARTIAL --------------------------------------------------------------------------------


def test_a_symbol_no_provider_has_makes_the_run_partial_and_the_others_go_on(
    cycle_env: CycleEnv, session_signals: pd.DataFrame, tmp_path: Path
) -> None:
    missing = "QQQ"
    bar = busiest_bar(session_signals, without=(missing,))
    files = _bar_files(tmp_path / "bars", [s for s in DEFAULT_SYMBOLS if s != missing], bar.end)
    cycle_env.configure(provider={"chain": ["files"], "files_dir": str(files)})

    result = cycle_env.run_cycle(bar.key)

    assert result.success  # one bad symbol never fails the run for the others
    (row,) = cycle_env.rows(tables.prediction_runs)
    assert row["status"] == "PARTIAL"
    assert (row["symbols_requested"], row["symbols_processed"]) == (8, 7)
    assert len(row["errors"]) == 1 and row["errors"][0].startswith(f"{missing}: ")
    expected = session_signals[
        (session_signals["partition_key"] == bar.key) & (session_signals["symbol"] != missing)
    ]
    stored = signal_rows(cycle_env)
    assert len(stored) == len(expected) > 0
    assert row["signals_generated"] == len(expected)
    assert sorted((s["symbol"], s["signal_type"]) for s in stored) == sorted(
        zip(expected["symbol"], expected["signal_type"], strict=True)
    )
    assert cycle_env.scheduler_state()["status"] == "IDLE"


def _bar_files(directory: Path, symbols: list[str], until: datetime) -> Path:
    """Parquet exports of the synthetic bars (the files provider's input), one per symbol."""
    market = default_market()
    start = history_start(market, until - timedelta(days=1), SchedulerConfig().history_sessions)
    provider = SyntheticProvider(market)
    directory.mkdir()
    for symbol in symbols:
        frame = provider.fetch(symbol, start - timedelta(days=3), until, "30min")
        frame.drop(columns=["symbol"]).to_parquet(directory / f"{symbol}.parquet")
    return directory


def test_a_channel_down_for_good_makes_the_run_partial_and_console_still_delivers(
    cycle_env: CycleEnv,
    webhook: Webhook,
    session_signals: pd.DataFrame,
    capfd: pytest.CaptureFixture[str],
) -> None:
    webhook.default_status = 500
    bar = busiest_bar(session_signals)
    n = int((session_signals["partition_key"] == bar.key).sum())
    cycle_env.configure(notifications=channels(webhook))

    with time_machine.travel(live_at(bar), tick=True):
        result = cycle_env.run_cycle(bar.key)

    assert result.success
    (row,) = cycle_env.rows(tables.prediction_runs)
    assert row["status"] == "PARTIAL"
    # One batch listing every signal, so one error line for it.
    assert len(row["errors"]) == 1 and row["errors"][0].startswith("hook signal:")
    log = cycle_env.rows(tables.notification_log)
    assert sorted((r["channel"], r["status"]) for r in log) == sorted(
        [("console", "SENT"), ("hook", "FAILED")] * n
    )
    # Both attempts (`channels`: max_attempts 2) of the one batch listed every message.
    assert [len(post) for post in webhook.posts()] == [n] * 2
    printed = "".join(capfd.readouterr())  # Dagster routes a step's prints to stderr
    signals = signal_rows(cycle_env)
    for signal in signals:
        assert f"{signal['signal_type']} {signal['symbol']} @" in printed
        assert signal["notification_sent"] is True
        assert signal["notification_channels"] == ["console"]
    assert cycle_env.scheduler_state()["status"] == "IDLE"


# -- 6. FAILED ---------------------------------------------------------------------------------

STORE_FULL = {
    "sqlite": [
        """
        CREATE TRIGGER store_full BEFORE INSERT ON generated_signals
        WHEN (SELECT count(*) FROM generated_signals) >= 1
        BEGIN SELECT RAISE(ABORT, 'disk full'); END
        """
    ],
    "postgresql": [
        """
        CREATE FUNCTION store_full() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF (SELECT count(*) FROM generated_signals) >= 1 THEN
                RAISE EXCEPTION 'disk full';
            END IF;
            RETURN NEW;
        END $$
        """,
        """
        CREATE TRIGGER store_full BEFORE INSERT ON generated_signals
        FOR EACH ROW EXECUTE FUNCTION store_full()
        """,
    ],
}


@pytest.mark.parametrize("span", ["one bar", "three bars"])
def test_a_failing_step_fails_the_run_with_only_its_failed_rows_and_no_half_written_signals(
    cycle_env: CycleEnv, session_signals: pd.DataFrame, span: str
) -> None:
    bar = busiest_bar(session_signals)
    keys = [bar.key]
    if span == "three bars":
        at = [b.key for b in session_bars(SESSION)].index(bar.key)
        keys = [b.key for b in session_bars(SESSION)[max(at - 1, 0) :][:3]]
    assert session_signals["partition_key"].isin(keys).sum() >= 2  # the 2nd insert fails
    ensure_schema(cycle_env.db_url)
    with cycle_env.engine.begin() as conn:
        for statement in STORE_FULL[conn.dialect.name]:
            conn.exec_driver_sql(statement)

    if span == "one bar":
        result = cycle_env.run_cycle(bar.key)
    else:
        result = cycle_env.run_cycle(first=keys[0], last=keys[-1])

    assert not result.success
    assert cycle_env.instance.get_run_by_id(result.run_id).status == dg.DagsterRunStatus.FAILURE
    runs = cycle_env.rows(tables.prediction_runs)
    assert sorted(r["partition_key"] for r in runs) == keys
    for run in runs:
        assert run["status"] == "FAILED"
        assert run["dagster_run_id"] == result.run_id
        assert "disk full" in run["errors"][-1] and run["errors"][-1].startswith("signals: ")
    state = cycle_env.scheduler_state()
    assert state["status"] == "ERROR"
    assert "disk full" in state["error_message"]
    assert state["current_run_id"] is None
    assert cycle_env.rows(tables.generated_signals) == []
    assert cycle_env.rows(tables.notification_log) == []
