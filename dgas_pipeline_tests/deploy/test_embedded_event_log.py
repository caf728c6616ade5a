"""The embedded default's event log stores a range run as Dagster's own SQLite event log does."""

import hashlib
import shutil
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml
from dagster._core.storage.partition_status_cache import AssetPartitionStatus

from dgas_pipeline.dagster_home import (
    EARLIER_DEFAULTS,
    embedded_instance_yaml,
    ensure_dagster_home,
    seed_instance_yaml,
)
from dgas_pipeline.defs.runtime.event_batching import BATCH_SIZE_ENV, EVENT_BATCH_SIZE
from dgas_pipeline.event_log_storage import BatchedSqliteEventLogStorage
from dgas_pipeline_tests.deploy.faults import fail_first_batch_index_write

LETTERS = dg.StaticPartitionsDefinition(["a", "b", "c", "d"])
RANGE_TAGS = {"dagster/asset_partition_range_start": "a", "dagster/asset_partition_range_end": "d"}


@dg.asset(partitions_def=LETTERS, backfill_policy=dg.BackfillPolicy.single_run())
def first(context: dg.AssetExecutionContext) -> None:
    """Materialised as a range; always succeeds."""


@dg.asset(partitions_def=LETTERS, backfill_policy=dg.BackfillPolicy.single_run(), deps=[first])
def second(context: dg.AssetExecutionContext) -> None:
    """Materialised after `first`; fails when the run is told to, half-way through the run."""
    if context.run.tags.get("fail"):
        raise RuntimeError("told to fail")


@dg.asset_check(asset=first, partitions_def=LETTERS)
def first_fine() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def _home(tmp_path: Path, name: str, *, dagster_own: bool) -> Path:
    """A home seeded as `dgas` seeds it; `dagster_own` puts Dagster's SQLite event log in."""
    home = tmp_path / name
    home.mkdir()
    seed_instance_yaml(home / "dagster.yaml")
    if dagster_own:
        config = yaml.safe_load((home / "dagster.yaml").read_text())
        del config["event_log_storage"]
        (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return home


def _range_run(home: Path, monkeypatch: pytest.MonkeyPatch, fail: bool) -> dict[str, Any]:
    """What a range run leaves in the event log, ids and timestamps aside."""
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        tags = {**RANGE_TAGS, **({"fail": "yes"} if fail else {})}
        result = dg.materialize(
            [first, second, first_fine], instance=instance, tags=tags, raise_on_error=False
        )
        assert result.success is not fail
        run_id = result.run_id
        events = [
            (e.dagster_event_type, e.dagster_event.partition if e.dagster_event else None)
            for e in instance.all_logs(run_id)
        ]
        storage = instance.event_log_storage
        with storage.index_connection() as conn:
            index_events = conn.execute(
                sa.text(
                    "SELECT dagster_event_type, asset_key, partition FROM event_logs "
                    "WHERE run_id = :run ORDER BY id"
                ),
                {"run": run_id},
            ).all()
            checks = conn.execute(
                sa.text(
                    "SELECT asset_key, check_name, partition, execution_status, "
                    "evaluation_event IS NOT NULL, evaluation_event_storage_id IS NOT NULL "
                    "FROM asset_check_executions WHERE run_id = :run ORDER BY partition, id"
                ),
                {"run": run_id},
            ).all()
            tags_rows = conn.execute(
                # values aside: an unversioned asset's data version is new in every run
                sa.text("SELECT asset_key, key FROM asset_event_tags ORDER BY id")
            ).all()
        statuses = {
            asset.key.to_user_string(): instance.get_status_by_partition(
                asset.key, LETTERS.get_partition_keys(), LETTERS
            )
            for asset in (first, second)
        }
        records = {
            r.asset_entry.asset_key.to_user_string(): (
                r.asset_entry.last_run_id == run_id,
                r.asset_entry.last_materialization.dagster_event.partition
                if r.asset_entry.last_materialization
                else None,
            )
            for r in instance.get_asset_records([first.key, second.key])
        }
        check_record = instance.event_log_storage.get_asset_check_execution_history(
            first_fine.check_key, limit=10
        )
        assert all(r.run_id == run_id for r in check_record)
        assert (home / "history" / "runs" / f"{run_id}.db").exists()
    return {
        "events": events,
        "index_events": [tuple(row) for row in index_events],
        "checks": [tuple(row) for row in checks],
        "tags": [tuple(row) for row in tags_rows],
        "statuses": statuses,
        "records": records,
        "check_history": [(r.partition, r.status) for r in check_record],
    }


@pytest.mark.parametrize("fail", [False, True], ids=["succeeds", "fails_half_way"])
def test_a_range_run_is_stored_as_dagster_own_sqlite_event_log_stores_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], fail: bool
) -> None:
    monkeypatch.setenv(BATCH_SIZE_ENV, str(EVENT_BATCH_SIZE))
    ours_home = _home(tmp_path, "ours", dagster_own=False)
    theirs_home = _home(tmp_path, "theirs", dagster_own=True)

    ours = _range_run(ours_home, monkeypatch, fail)
    # Dagster falls back to one write per event when a batch write raises, saying so.
    assert "Exception while storing event batch" not in capfd.readouterr().err
    theirs = _range_run(theirs_home, monkeypatch, fail)
    assert ours == theirs

    planned = [
        p for t, p in ours["events"] if t == dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
    ]
    assert sorted(planned) == sorted(2 * list("abcd"))
    statuses = ours["statuses"]
    assert statuses["first"] == dict.fromkeys("abcd", AssetPartitionStatus.MATERIALIZED)
    expected = AssetPartitionStatus.FAILED if fail else AssetPartitionStatus.MATERIALIZED
    assert statuses["second"] == dict.fromkeys("abcd", expected)
    # one planned check row per partition, each holding the event
    planned_checks = [row[2:] for row in ours["checks"] if row[3] == "PLANNED"]
    assert planned_checks == [(k, "PLANNED", True, True) for k in "abcd"]


def test_a_batch_whose_index_write_fails_is_stored_once_by_dagsters_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """The index transaction of one batch rolls back (as on a lock held past SQLite's busy
    timeout): Dagster stores that batch again event by event, and the run ends up stored as
    Dagster's own event log stores it, each event once in the run's file and in the index."""
    monkeypatch.setenv(BATCH_SIZE_ENV, str(EVENT_BATCH_SIZE))
    failed = fail_first_batch_index_write(monkeypatch, BatchedSqliteEventLogStorage)
    ours = _range_run(_home(tmp_path, "ours", dagster_own=False), monkeypatch, fail=False)
    assert failed == [1]
    assert "Falling back to storing multiple single-event storage requests" in (
        capfd.readouterr().err
    )
    theirs = _range_run(_home(tmp_path, "theirs", dagster_own=True), monkeypatch, fail=False)
    assert ours == theirs


def test_the_embedded_instance_uses_the_batched_event_log_under_history_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where Dagster's default keeps it: a home that already holds runs keeps showing them."""
    home = _home(tmp_path, "home", dagster_own=False)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.event_log_storage).__name__ == "BatchedSqliteEventLogStorage"
        assert (home / "history" / "runs" / "index.db").exists()


EARLIER = Path(__file__).with_name("earlier_dagster.yaml")  # seeded two releases ago
RELEASED = Path(__file__).with_name("released_dagster.yaml")  # seeded by the last release


@pytest.mark.parametrize("seeded", [EARLIER, RELEASED], ids=lambda p: p.stem)
def test_a_home_holding_the_earlier_default_gets_the_current_one(
    seeded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert hashlib.sha256(seeded.read_bytes()).hexdigest() in EARLIER_DEFAULTS
    assert seeded.read_bytes() != embedded_instance_yaml()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    shutil.copy(seeded, tmp_path / "dagster.yaml")
    ensure_dagster_home()
    assert (tmp_path / "dagster.yaml").read_bytes() == embedded_instance_yaml()
    assert [p.name for p in tmp_path.iterdir()] == ["dagster.yaml"]  # no partial file left


def test_a_dagster_yaml_an_operator_changed_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    changed = EARLIER.read_bytes() + b"# ours\n"
    (tmp_path / "dagster.yaml").write_bytes(changed)
    ensure_dagster_home()
    assert (tmp_path / "dagster.yaml").read_bytes() == changed
