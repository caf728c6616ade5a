"""`alert_state`: its migration up and down, and the state repositories, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from dgas_pipeline.alerts.state import ALERT_STATES, ARMED, TRIGGERED, AlertState
from dgas_pipeline.alerts.store import get_alert_states, reset_alert_states, save_alert_states
from dgas_pipeline.store.engine import make_engine, write_transaction
from dgas_pipeline.store.migrate import current_revision, downgrade, upgrade
from dgas_pipeline.store.tables import ALERT_STATES as TABLE_ALERT_STATES
from dgas_pipeline.store.tables import alert_state
from dgas_pipeline_tests.alerts.conftest import ALERT_STATE_REVISION

BAR = datetime(2025, 11, 24, 14, 30, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")


def _tables(url: str) -> set[str]:
    return set(sa.inspect(make_engine(url)).get_table_names())


def test_the_migration_adds_alert_state_and_takes_it_away_again(db_url: str) -> None:
    upgrade(db_url, "0001")
    assert "alert_state" not in _tables(db_url)
    upgrade(db_url, ALERT_STATE_REVISION)
    assert "alert_state" in _tables(db_url)
    assert "generated_signals" in _tables(db_url)
    downgrade(db_url, "0001")
    assert "alert_state" not in _tables(db_url)
    assert "generated_signals" in _tables(db_url)
    assert current_revision(db_url) == "0001"
    upgrade(db_url, ALERT_STATE_REVISION)
    assert "alert_state" in _tables(db_url)


def test_the_migrated_table_matches_its_definition_in_tables_py(db_url: str) -> None:
    upgrade(db_url, ALERT_STATE_REVISION)
    with make_engine(db_url).connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, alert_state.metadata)

    def about_alert_state(diff: object) -> bool:
        return "alert_state" in repr(diff)

    assert [d for d in diffs if about_alert_state(d)] == []


def test_the_table_and_the_state_agree_on_the_state_names() -> None:
    assert TABLE_ALERT_STATES == ALERT_STATES


def test_states_read_back_as_written(engine: Engine) -> None:
    written = [
        AlertState("r", "SPY"),
        AlertState(
            "r",
            "QQQ",
            state=TRIGGERED,
            consecutive_true=3,
            last_fired_bar=BAR.astimezone(NEW_YORK),
            last_bar_evaluated=BAR + timedelta(minutes=30),
        ),
        AlertState("other", "SPY", consecutive_true=1, last_bar_evaluated=BAR),
    ]
    with write_transaction(engine) as conn:
        assert save_alert_states(conn, written) == 3
    with engine.connect() as conn:
        read = get_alert_states(conn, ["r"])
    assert read == {("r", "SPY"): written[0], ("r", "QQQ"): written[1]}
    assert read[("r", "QQQ")].last_fired_bar == BAR
    assert read[("r", "QQQ")].last_fired_bar.tzinfo == UTC  # type: ignore[union-attr]


def test_saving_again_updates_the_one_row(engine: Engine) -> None:
    first = AlertState("r", "SPY", last_bar_evaluated=BAR)
    later = AlertState(
        "r",
        "SPY",
        state=TRIGGERED,
        consecutive_true=1,
        last_fired_bar=BAR + timedelta(minutes=30),
        last_bar_evaluated=BAR + timedelta(minutes=30),
    )
    with write_transaction(engine) as conn:
        save_alert_states(conn, [first])
    with write_transaction(engine) as conn:
        save_alert_states(conn, [later])
    with engine.connect() as conn:
        assert get_alert_states(conn, ["r"]) == {("r", "SPY"): later}
        assert conn.execute(sa.select(sa.func.count()).select_from(alert_state)).scalar() == 1


def test_a_state_never_moves_backwards(engine: Engine) -> None:
    """A late retry that evaluated fewer bars must not undo what a newer run recorded."""
    newer = AlertState(
        "r", "SPY", state=TRIGGERED, last_fired_bar=BAR, last_bar_evaluated=BAR + timedelta(hours=1)
    )
    with write_transaction(engine) as conn:
        save_alert_states(conn, [newer])
    with write_transaction(engine) as conn:
        assert save_alert_states(conn, [AlertState("r", "SPY", last_bar_evaluated=BAR)]) == 0
        assert save_alert_states(conn, [AlertState("r", "SPY")]) == 0
    with engine.connect() as conn:
        assert get_alert_states(conn, ["r"]) == {("r", "SPY"): newer}


def test_reset_forgets_a_rule(engine: Engine) -> None:
    with write_transaction(engine) as conn:
        save_alert_states(conn, [AlertState("r", "SPY"), AlertState("keep", "SPY")])
        assert reset_alert_states(conn, ["r"]) == 1
    with engine.connect() as conn:
        assert set(get_alert_states(conn, ["r", "keep"])) == {("keep", "SPY")}


def test_no_rule_names_reads_nothing(engine: Engine) -> None:
    with engine.connect() as conn:
        assert get_alert_states(conn, []) == {}


@pytest.mark.parametrize(
    "values",
    [
        {"rule": "r", "symbol": "SPY", "state": "FIRED"},
        {"rule": "r", "symbol": "SPY", "state": ARMED, "consecutive_true": -1},
    ],
    ids=["unknown-state", "negative-count"],
)
def test_the_database_refuses_impossible_states(engine: Engine, values: dict[str, object]) -> None:
    with pytest.raises(sa.exc.IntegrityError), write_transaction(engine) as conn:
        conn.execute(sa.insert(alert_state).values(values))


def test_one_row_per_rule_and_symbol(engine: Engine) -> None:
    with pytest.raises(sa.exc.IntegrityError), write_transaction(engine) as conn:
        conn.execute(sa.insert(alert_state).values(rule="r", symbol="SPY"))
        conn.execute(sa.insert(alert_state).values(rule="r", symbol="SPY"))


def test_a_naive_time_is_refused_before_the_database() -> None:
    with pytest.raises(ValueError, match="naive"):
        AlertState("r", "SPY", last_bar_evaluated=datetime(2025, 11, 24, 14, 30))
