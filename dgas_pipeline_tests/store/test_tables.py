"""What the database itself guarantees: aware UTC timestamps, CHECKs, uniqueness, cascades."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dgas_pipeline.store import repositories
from dgas_pipeline.store.tables import (
    generated_signals,
    notification_log,
    prediction_metrics,
    prediction_runs,
    scheduler_state,
)
from dgas_pipeline_tests.store.rows import BAR, metric_row, run_row, signal_row

NEW_YORK = ZoneInfo("America/New_York")


def test_a_naive_datetime_is_refused_with_a_message_saying_what_to_do(engine: Engine) -> None:
    naive = datetime(2025, 3, 10, 14, 30)
    refused = "naive datetime 2025-03-10T14:30:00 refused"
    with pytest.raises(sa.exc.StatementError, match=refused), engine.begin() as conn:
        repositories.upsert_signals(conn, [signal_row(signal_timestamp=naive)])


@pytest.mark.parametrize(
    "written",
    [
        datetime(2025, 3, 10, 14, 30, tzinfo=UTC),
        datetime(2025, 3, 10, 10, 30, tzinfo=NEW_YORK),  # EDT, first Monday after the switch
        datetime(2025, 3, 10, 20, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        pd.Timestamp("2025-03-10 10:30", tz="America/New_York"),
    ],
    ids=["utc", "new-york", "kolkata-offset", "pandas-timestamp"],
)
def test_timestamps_read_back_as_the_same_instant_in_utc(engine: Engine, written: datetime) -> None:
    with engine.begin() as conn:
        repositories.upsert_signals(conn, [signal_row(signal_timestamp=written)])
    with engine.connect() as conn:
        read = conn.execute(sa.select(generated_signals.c.signal_timestamp)).scalar_one()
    assert read == BAR
    assert read.tzinfo == UTC


def test_server_default_timestamps_are_aware_utc(engine: Engine) -> None:
    with engine.begin() as conn:
        repositories.record_run(conn, run_row())
    with engine.connect() as conn:
        created = conn.execute(sa.select(prediction_runs.c.created_at)).scalar_one()
    assert created.tzinfo == UTC
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=5)


@pytest.mark.parametrize("trend", ["up", "down", "neutral", "Up"])
def test_htf_trend_must_be_upper_case(engine: Engine, trend: str) -> None:
    # The seed wrote 'up' against an upper-case CHECK, and no signal was ever stored.
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        repositories.upsert_signals(conn, [signal_row(htf_trend=trend)])


@pytest.mark.parametrize(
    ("table", "row", "column", "bad"),
    [
        (generated_signals, signal_row(), "signal_type", "long"),
        (generated_signals, signal_row(), "outcome", "pending"),
        (generated_signals, signal_row(), "confidence", 1.2),
        (generated_signals, signal_row(), "signal_strength", -0.1),
        (generated_signals, signal_row(), "timeframe_alignment", 1.01),
        (prediction_runs, run_row(), "status", "DONE"),
        (prediction_runs, run_row(), "kind", "intraday"),
        (prediction_runs, run_row(), "launched_by", "cron"),
        (prediction_metrics, metric_row(metadata=None), "aggregation_period", "yearly"),
        (scheduler_state, {"id": 1}, "status", "PAUSED"),
        (notification_log, {"message_key": "eod:2025-03-10", "channel": "console"}, "status", "OK"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_check_constraints_reject_values_outside_their_list(
    engine: Engine, table: sa.Table, row: dict[str, object], column: str, bad: object
) -> None:
    values = {k: v for k, v in row.items() if k != "metadata"}
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.insert(table).values({**values, column: bad}))


def test_a_second_scheduler_state_row_is_refused(engine: Engine) -> None:
    with engine.begin() as conn:
        repositories.set_scheduler_state(conn, status="IDLE")
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.insert(scheduler_state).values(id=2, status="IDLE"))


def test_a_plain_insert_of_an_existing_signal_violates_the_unique_key(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.insert(generated_signals).values(signal_row()))
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.insert(generated_signals).values(signal_row(entry_price=101.0)))


def test_deleting_a_signal_deletes_its_notification_log(engine: Engine) -> None:
    with engine.begin() as conn:
        [signal_id] = repositories.upsert_signals(conn, [signal_row()])
        repositories.claim_notifications(conn, "console", [(f"signal:{signal_id}", signal_id)])
    with engine.begin() as conn:
        conn.execute(sa.delete(generated_signals).where(generated_signals.c.id == signal_id))
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(notification_log)).scalar() == 0
