"""Repositories on SQLite and PostgreSQL: upserts that make retries harmless, and atomicity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dgas_pipeline.store import repositories as repo
from dgas_pipeline.store.tables import generated_signals, notification_log, prediction_runs
from dgas_pipeline_tests.store.rows import BAR, metric_row, run_row, signal_row

INJECTION = "x'); DROP TABLE generated_signals;--"


def _count(conn: Connection, table: sa.Table) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


# --- signals -------------------------------------------------------------------------------


def test_upserting_the_same_signal_twice_keeps_one_row_with_the_newer_values(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        [first] = repo.upsert_signals(conn, [signal_row(confidence=0.6)])
    with engine.begin() as conn:
        [second] = repo.upsert_signals(conn, [signal_row(confidence=0.7, dagster_run_id="run-2")])
    with engine.connect() as conn:
        [row] = repo.signals_for_partition(conn, signal_row()["partition_key"])
    assert first == second == row["id"]
    assert (row["confidence"], row["dagster_run_id"]) == (0.7, "run-2")


def test_upsert_returns_ids_in_the_order_of_the_rows(engine: Engine) -> None:
    rows = [signal_row(symbol=s) for s in ("MSFT", "AAPL", "TSLA")]
    with engine.begin() as conn:
        repo.upsert_signals(conn, [rows[1]])
        ids = repo.upsert_signals(conn, rows)
        symbols = {
            r.id: r.symbol
            for r in conn.execute(sa.select(generated_signals.c.id, generated_signals.c.symbol))
        }
    assert [symbols[i] for i in ids] == ["MSFT", "AAPL", "TSLA"]


def test_a_cycle_of_thousands_of_signals_gets_each_its_own_id_in_order(engine: Engine) -> None:
    """More rows than one statement takes, some stored before, timestamps given in other zones
    and as pandas timestamps: every id is the row of its own key, in the order given."""
    new_york = pd.Timestamp(BAR).tz_convert("America/New_York")
    rows = [
        signal_row(
            symbol=f"S{n:04d}",
            signal_timestamp=new_york if n % 2 else BAR,
            signal_type="SHORT" if n % 3 else "LONG",
            confidence=n / 10_000,
        )
        for n in range(1_234)
    ]
    with engine.begin() as conn:
        earlier = repo.upsert_signals(conn, rows[::7])
        ids = repo.upsert_signals(conn, list(reversed(rows)))[::-1]
        stored = {
            r.id: (r.symbol, r.signal_type, r.confidence)
            for r in conn.execute(
                sa.select(
                    generated_signals.c.id,
                    generated_signals.c.symbol,
                    generated_signals.c.signal_type,
                    generated_signals.c.confidence,
                )
            )
        }
    assert len(stored) == len(rows) == len(set(ids))
    assert [stored[i] for i in ids] == [
        (r["symbol"], r["signal_type"], r["confidence"]) for r in rows
    ]
    assert earlier == ids[::7]


def test_a_key_given_twice_in_one_call_is_one_row_holding_the_last_values(
    engine: Engine,
) -> None:
    rows = [
        signal_row(confidence=0.5),
        signal_row(symbol="MSFT"),
        signal_row(confidence=0.9, dagster_run_id="run-2"),
    ]
    with engine.begin() as conn:
        first, other, last = repo.upsert_signals(conn, rows)
    with engine.connect() as conn:
        stored = {
            r["symbol"]: r for r in repo.signals_for_partition(conn, rows[0]["partition_key"])
        }
    assert first == last == stored["AAPL"]["id"] != other
    assert (stored["AAPL"]["confidence"], stored["AAPL"]["dagster_run_id"]) == (0.9, "run-2")


@pytest.mark.parametrize(
    ("column", "other"),
    [
        ("symbol", "MSFT"),
        ("signal_timestamp", BAR + timedelta(minutes=30)),
        ("signal_type", "SHORT"),
        ("trading_timeframe", "30min"),
    ],
)
def test_signals_differing_in_any_key_column_are_distinct(
    engine: Engine, column: str, other: object
) -> None:
    with engine.begin() as conn:
        ids = repo.upsert_signals(conn, [signal_row(), signal_row(**{column: other})])
        assert _count(conn, generated_signals) == 2
    assert len(set(ids)) == 2


def test_a_rerun_of_the_cycle_keeps_notification_and_outcome_fields(engine: Engine) -> None:
    sent_at = BAR + timedelta(minutes=1)
    with engine.begin() as conn:
        [signal_id] = repo.upsert_signals(conn, [signal_row()])
        conn.execute(
            sa.update(generated_signals)
            .where(generated_signals.c.id == signal_id)
            .values(
                notification_sent=True,
                notification_channels=["console"],
                notification_timestamp=sent_at,
            )
        )
        repo.update_outcomes(conn, [{"id": signal_id, "outcome": "WIN", "pnl_pct": 3.0}])
    with engine.begin() as conn:
        repo.upsert_signals(conn, [signal_row(entry_price=100.5)])
        row = conn.execute(sa.select(generated_signals)).mappings().one()
    assert row["entry_price"] == 100.5
    assert row["notification_sent"] is True
    assert row["notification_channels"] == ["console"]
    assert row["notification_timestamp"] == sent_at
    assert (row["outcome"], row["pnl_pct"]) == ("WIN", 3.0)


def test_a_new_signal_is_pending_and_unsent(engine: Engine) -> None:
    with engine.begin() as conn:
        repo.upsert_signals(conn, [signal_row()])
        row = conn.execute(sa.select(generated_signals)).mappings().one()
    assert (row["outcome"], row["notification_sent"], row["notification_channels"]) == (
        "PENDING",
        False,
        [],
    )
    assert row["pattern_context"] == {"patterns": ["PLDOT_PUSH"]}


def test_a_symbol_that_looks_like_sql_injection_is_stored_verbatim(engine: Engine) -> None:
    with engine.begin() as conn:
        repo.upsert_signals(conn, [signal_row(symbol=INJECTION[:32])])
        repo.record_run(conn, run_row(errors=[INJECTION], run_id=INJECTION))
    with engine.connect() as conn:
        [signal] = repo.pending_signals(conn, before=BAR + timedelta(days=1))
        [run] = repo.recent_runs(conn, limit=1)
    assert signal["symbol"] == INJECTION[:32]
    assert (run["run_id"], run["errors"]) == (INJECTION, [INJECTION])


def test_pending_signals_are_those_issued_before_the_cutoff_and_not_yet_judged(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        early, _late, judged = repo.upsert_signals(
            conn,
            [
                signal_row(symbol="EARLY"),
                signal_row(symbol="LATE", signal_timestamp=BAR + timedelta(hours=2)),
                signal_row(symbol="JUDGED"),
            ],
        )
        repo.update_outcomes(conn, [{"id": judged, "outcome": "LOSS"}])
    with engine.connect() as conn:
        pending = repo.pending_signals(conn, before=BAR + timedelta(hours=1))
    assert [s["id"] for s in pending] == [early]


def test_update_outcomes_fills_the_evaluation(engine: Engine) -> None:
    evaluated = BAR + timedelta(hours=6)
    with engine.begin() as conn:
        [signal_id] = repo.upsert_signals(conn, [signal_row()])
        updated = repo.update_outcomes(
            conn,
            [
                {
                    "id": signal_id,
                    "outcome": "WIN",
                    "actual_high": 103.2,
                    "actual_low": 99.9,
                    "actual_close": 103.0,
                    "pnl_pct": 3.0,
                    "evaluated_at": evaluated,
                },
                {"id": signal_id + 1000, "outcome": "LOSS"},
            ],
        )
        row = conn.execute(sa.select(generated_signals)).mappings().one()
    assert updated == 1
    assert (row["outcome"], row["actual_high"], row["actual_low"], row["actual_close"]) == (
        "WIN",
        103.2,
        99.9,
        103.0,
    )
    assert row["evaluated_at"] == evaluated


# --- one transaction per run ---------------------------------------------------------------


def test_a_transaction_that_raises_leaves_nothing_written(engine: Engine) -> None:
    class CycleFailed(Exception):
        pass

    with pytest.raises(CycleFailed), engine.begin() as conn:
        repo.upsert_signals(conn, [signal_row(), signal_row(symbol="MSFT")])
        repo.record_run(conn, run_row())
        repo.set_scheduler_state(conn, status="RUNNING")
        repo.claim_notifications(conn, "console", [("signal:1", None)])
        repo.upsert_metrics(conn, [metric_row()])
        raise CycleFailed
    with engine.connect() as conn:
        assert _count(conn, generated_signals) == 0
        assert repo.recent_runs(conn) == []
        assert repo.get_scheduler_state(conn) is None
        assert repo.notification_status(conn, "signal:1", "console") is None
        assert repo.metrics(conn, "latency_p95", "daily", BAR - timedelta(days=30)) == []


# --- runs ----------------------------------------------------------------------------------


def test_record_run_updates_the_row_of_the_same_run_and_partition(engine: Engine) -> None:
    with engine.begin() as conn:
        started = repo.record_run(conn, run_row(status="RUNNING", execution_time_ms=0))
    with engine.begin() as conn:
        finished = repo.record_run(conn, run_row(status="PARTIAL", errors=["TSLA: no bars"]))
    with engine.connect() as conn:
        [row] = repo.recent_runs(conn)
    assert started == finished == row["id"]
    assert (row["status"], row["errors"], row["execution_time_ms"]) == (
        "PARTIAL",
        ["TSLA: no bars"],
        1200,
    )


def test_a_range_run_writes_one_row_per_bar(engine: Engine) -> None:
    with engine.begin() as conn:
        for minutes in (0, 30, 60):
            bar = BAR + timedelta(minutes=minutes)
            repo.record_run(conn, run_row(partition_key=bar.isoformat(), run_timestamp=bar))
        assert _count(conn, prediction_runs) == 3


def test_recent_runs_are_newest_first_and_limited(engine: Engine) -> None:
    with engine.begin() as conn:
        for minutes in (0, 60, 30):
            bar = BAR + timedelta(minutes=minutes)
            repo.record_run(conn, run_row(partition_key=bar.isoformat(), run_timestamp=bar))
        runs = repo.recent_runs(conn, limit=2)
    assert [r["run_timestamp"] for r in runs] == [
        BAR + timedelta(minutes=60),
        BAR + timedelta(minutes=30),
    ]


# --- scheduler_state -----------------------------------------------------------------------


def test_scheduler_state_is_none_before_anything_ran(engine: Engine) -> None:
    with engine.connect() as conn:
        assert repo.get_scheduler_state(conn) is None


def test_scheduler_state_stays_a_single_row(engine: Engine) -> None:
    with engine.begin() as conn:
        for status in ("RUNNING", "IDLE", "ERROR", "RUNNING", "STOPPED"):
            repo.set_scheduler_state(conn, status=status)
        rows = conn.execute(sa.text("SELECT id, status FROM scheduler_state")).all()
    assert [tuple(r) for r in rows] == [(1, "STOPPED")]


def test_set_scheduler_state_keeps_fields_not_named_and_clears_fields_set_to_none(
    engine: Engine,
) -> None:
    next_run = BAR + timedelta(minutes=30)
    with engine.begin() as conn:
        repo.set_scheduler_state(
            conn, status="ERROR", error_message="provider timeout", next_scheduled_run=next_run
        )
        repo.set_scheduler_state(
            conn, status="IDLE", error_message=None, last_run_timestamp=BAR, current_run_id=None
        )
        state = repo.get_scheduler_state(conn)
    assert state is not None
    assert (state["status"], state["error_message"]) == ("IDLE", None)
    assert (state["last_run_timestamp"], state["next_scheduled_run"]) == (BAR, next_run)
    assert state["updated_at"].tzinfo == UTC


# --- notification_log ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("previous", "may_send"),
    [
        (None, True),
        ("PENDING", True),
        ("FAILED", True),
        ("SENT", False),
        ("STALE", False),
    ],
)
def test_claim_notification_answer_table(
    engine: Engine, previous: str | None, may_send: bool
) -> None:
    with engine.begin() as conn:
        if previous is not None:
            repo.mark_notifications(conn, "webhook", ["eod:2025-03-10"], previous)
        claimed = repo.claim_notifications(conn, "webhook", [("eod:2025-03-10", None)])
        assert claimed == (["eod:2025-03-10"] if may_send else [])


def test_a_sent_message_is_never_claimed_again_by_a_retry(engine: Engine) -> None:
    with engine.begin() as conn:
        assert repo.claim_notifications(conn, "telegram", [("signal:7", None)]) == ["signal:7"]
        repo.mark_notifications(conn, "telegram", ["signal:7"], "SENT")
    with engine.begin() as conn:
        assert repo.claim_notifications(conn, "telegram", [("signal:7", None)]) == []
        assert repo.claim_notifications(conn, "email", [("signal:7", None)]) == ["signal:7"]
        row = (
            conn.execute(
                sa.select(notification_log).where(notification_log.c.channel == "telegram")
            )
            .mappings()
            .one()
        )
    assert (row["status"], row["attempts"]) == ("SENT", 1)
    assert row["sent_at"].tzinfo == UTC


def test_each_claim_of_a_failed_message_counts_an_attempt(engine: Engine) -> None:
    with engine.begin() as conn:
        for _ in range(3):
            assert repo.claim_notifications(conn, "email", [("signal:8", None)]) == ["signal:8"]
            repo.mark_notifications(conn, "email", ["signal:8"], "FAILED", error="SMTP 451")
        row = conn.execute(sa.select(notification_log)).mappings().one()
    assert (row["status"], row["attempts"], row["last_error"]) == ("FAILED", 3, "SMTP 451")


# --- prediction_metrics --------------------------------------------------------------------


def test_recomputing_a_metric_period_replaces_its_value(engine: Engine) -> None:
    with engine.begin() as conn:
        repo.upsert_metrics(conn, [metric_row(metric_value=800.0)])
        repo.upsert_metrics(conn, [metric_row(metric_value=900.0, metadata={"n": 42})])
        repo.upsert_metrics(conn, [metric_row(aggregation_period="weekly")])
        daily = repo.metrics(conn, "latency_p95", "daily", datetime(2025, 1, 1, tzinfo=UTC))
    assert [(m["metric_value"], m["metadata"]) for m in daily] == [(900.0, {"n": 42})]


def test_retiring_many_messages_marks_those_not_done_stale_as_claims_would(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        for key, previous in [("s:1", "SENT"), ("s:2", "FAILED"), ("s:3", "PENDING")]:
            repo.claim_notifications(conn, "email", [(key, None)])
            repo.mark_notifications(conn, "email", [key], previous, "was")
        messages: list[tuple[str, int | None]] = [(f"s:{n}", None) for n in range(1, 6)]
        assert repo.retire_notifications(conn, "email", messages) == 4
        assert repo.retire_notifications(conn, "email", messages) == 0  # all done now
    with engine.connect() as conn:
        rows = {
            r["message_key"]: (r["status"], r["attempts"], r["last_error"], r["signal_id"])
            for r in conn.execute(sa.select(notification_log)).mappings()
        }
    assert rows == {
        "s:1": ("SENT", 1, "was", None),  # left as it was
        "s:2": ("STALE", 2, None, None),
        "s:3": ("STALE", 2, None, None),
        "s:4": ("STALE", 1, None, None),
        "s:5": ("STALE", 1, None, None),
    }
