"""`deploy/dagster.yaml` loads on a real PostgreSQL and keeps the embedded default's run rules."""

import shutil
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml
from dagster._core.storage.partition_status_cache import AssetPartitionStatus

from dgas_pipeline.dagster_home import check_dagster_postgres_url
from dgas_pipeline.defs.runtime.event_batching import BATCH_SIZE_ENV, EVENT_BATCH_SIZE
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.event_log_storage import PooledPostgresEventLogStorage
from dgas_pipeline_tests.deploy.faults import fail_first_batch_index_write

REPO = Path(__file__).resolve().parents[2]
RUN_RULES = ("run_coordinator", "run_monitoring", "run_retries")


@pytest.fixture
def production_home(tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    # As deploy/README.md writes it: naming psycopg2 (see check_dagster_postgres_url).
    monkeypatch.setenv(
        "DAGSTER_POSTGRES_URL", pg_url.replace("postgresql://", "postgresql+psycopg2://", 1)
    )
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def test_production_instance_stores_runs_in_postgres_and_queues_them(
    production_home: Path,
) -> None:
    with dg.DagsterInstance.from_config(str(production_home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PooledPostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        assert type(instance.run_coordinator).__name__ == "PipelineRunCoordinator"
        assert instance.run_monitoring_enabled and instance.run_retries_enabled

        run = instance.create_run_for_job(dg.GraphDefinition("noop").to_job())
        assert instance.get_run_by_id(run.run_id) is not None
        # An event write is what a bare postgresql:// URL (psycopg 3) breaks.
        instance.report_engine_event("stored", run)
        (record,) = instance.all_logs(run.run_id)
        assert record.message == "stored"


def test_production_and_embedded_instances_share_the_run_rules() -> None:
    embedded = yaml.safe_load((REPO / "dgas_pipeline" / "dagster.yaml").read_text())
    production = yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())
    for rule in RUN_RULES:
        assert production[rule] == embedded[rule], rule


def test_secrets_are_not_written_in_the_production_config() -> None:
    text = (REPO / "deploy" / "dagster.yaml").read_text()
    config = yaml.safe_load(text)
    for storage in ("run_storage", "event_log_storage", "schedule_storage"):
        assert config[storage]["config"]["postgres_url"] == {"env": "DAGSTER_POSTGRES_URL"}
    assert "password" not in text.lower().replace("<password>", "")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://dgas:s3cret@db:5432/dgas", "postgresql://dgas:***@db:5432/dgas"),
        ("postgresql+psycopg://dgas:s3cret@db/dgas", "postgresql+psycopg://dgas:***@db/dgas"),
    ],
)
def test_a_dagster_postgres_url_without_psycopg2_is_refused_naming_it(url: str, shown: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_dagster_postgres_url({"DAGSTER_POSTGRES_URL": url})
    message = str(caught.value)
    assert message.startswith(
        f"DAGSTER_POSTGRES_URL: {shown!r} must start with postgresql+psycopg2://"
    )
    assert "s3cret" not in message


@pytest.mark.parametrize("env", [{}, {"DAGSTER_POSTGRES_URL": "postgresql+psycopg2://d@db/dgas"}])
def test_no_url_or_a_psycopg2_url_passes(env: dict[str, str]) -> None:
    check_dagster_postgres_url(env)


def test_the_production_event_log_writes_every_event_on_one_open_connection(
    production_home: Path,
) -> None:
    with dg.DagsterInstance.from_config(str(production_home)) as instance:
        run = instance.create_run_for_job(dg.GraphDefinition("noop").to_job())
        backends = set()
        for n in range(5):
            instance.report_engine_event(f"event {n}", run)
            with instance.event_log_storage.index_connection() as conn:
                backends.add(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())
        assert len(instance.all_logs(run.run_id)) == 5
        # dagster-postgres's own event log would connect anew for each: five backends.
        assert len(backends) == 1


LETTERS = dg.StaticPartitionsDefinition(["a", "b", "c"])
RANGE_TAGS = {"dagster/asset_partition_range_start": "a", "dagster/asset_partition_range_end": "c"}


@dg.asset(partitions_def=LETTERS, backfill_policy=dg.BackfillPolicy.single_run())
def letters(context: dg.AssetExecutionContext) -> None:
    """Materialised as a range; fails when told to."""
    if context.run.tags.get("fail"):
        raise RuntimeError("told to fail")


@pytest.mark.parametrize("fail", [False, True], ids=["succeeds", "fails"])
def test_a_range_run_with_batched_events_plans_and_marks_every_partition(
    production_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    fail: bool,
) -> None:
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "1000")
    with dg.DagsterInstance.from_config(str(production_home)) as instance:
        tags = {**RANGE_TAGS, **({"fail": "yes"} if fail else {})}
        result = dg.materialize([letters], instance=instance, tags=tags, raise_on_error=False)
        assert result.success is not fail
        # Dagster falls back to one write per event when a batch write raises, saying so.
        assert "Exception while storing event batch" not in capfd.readouterr().err
        planned = instance.get_records_for_run(
            result.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
        ).records
        assert sorted(r.event_log_entry.dagster_event.partition for r in planned) == ["a", "b", "c"]
        statuses = instance.get_status_by_partition(letters.key, ["a", "b", "c"], LETTERS)
        assert statuses is not None
        expected = AssetPartitionStatus.FAILED if fail else AssetPartitionStatus.MATERIALIZED
        assert set(statuses.values()) == {expected}
        # The asset's row names the run, as when planned events are stored one by one.
        (record,) = instance.get_asset_records([letters.key])
        assert record.asset_entry.last_run_id == result.run_id


@pytest.mark.parametrize("unit", ["dagster-daemon.service", "dagster-webserver.service"])
def test_the_services_creating_runs_batch_their_planned_events_as_run_workers_do(
    unit: str,
) -> None:
    text = (REPO / "deploy" / "systemd" / unit).read_text(encoding="utf-8")
    assert f"Environment={BATCH_SIZE_ENV}={EVENT_BATCH_SIZE}\n" in text


@dg.asset(partitions_def=LETTERS, backfill_policy=dg.BackfillPolicy.single_run())
def checked_letters(context: dg.AssetExecutionContext) -> None:
    """Materialised as a range, with a check on every partition."""


@dg.asset_check(asset=checked_letters, partitions_def=LETTERS)
def letters_fine() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def _range_run_rows(home: Path) -> tuple[list[tuple[object, ...]], list[object], object]:
    """What a range run of `checked_letters` leaves in the event log: its check rows, the
    partitions of its materialisations in storage order, the asset's last partition."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = dg.materialize([checked_letters, letters_fine], instance=instance, tags=RANGE_TAGS)
        storage = instance.event_log_storage
        with storage.index_connection() as conn:
            checks = conn.execute(
                sa.text(
                    "SELECT asset_key, check_name, partition, execution_status, "
                    "evaluation_event IS NOT NULL FROM asset_check_executions "
                    "WHERE run_id = :run ORDER BY partition"
                ),
                {"run": result.run_id},
            ).all()
        materialised = instance.get_records_for_run(
            result.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records
        (record,) = instance.get_asset_records([checked_letters.key])
        last = record.asset_entry.last_materialization
        assert last is not None and last.run_id == result.run_id
    return (
        [tuple(row) for row in checks],
        [r.event_log_entry.dagster_event.partition for r in materialised],
        last.dagster_event.partition,
    )


def test_a_range_run_with_a_check_is_stored_as_dagster_postgres_stores_it(
    production_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The production event log stores a range run's check plans (one row per partition,
    the event serialised once) and its materialisations (in bulk) as dagster-postgres does."""
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "1000")
    theirs = tmp_path / "dagster_postgres_home"
    theirs.mkdir()
    config = yaml.safe_load((production_home / "dagster.yaml").read_text())
    config["event_log_storage"] |= {
        "module": "dagster_postgres.event_log",
        "class": "PostgresEventLogStorage",
    }
    (theirs / "dagster.yaml").write_text(yaml.safe_dump(config))

    ours = _range_run_rows(production_home)
    assert ours == _range_run_rows(theirs)
    checks, materialised, last = ours
    # one planned row per partition, each with the event (the check's one result, which
    # names no partition, is a row of its own in both)
    assert [row[2:] for row in checks if row[2]] == [(k, "PLANNED", True) for k in "abc"]
    # every partition materialised; the asset's row holds the last one stored
    assert sorted(materialised) == ["a", "b", "c"] and last == materialised[-1]


def test_a_batch_whose_index_write_fails_is_stored_once_by_dagsters_fallback(
    production_home: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """The index transaction after a batch's bulk INSERT rolls back: Dagster stores the batch
    again event by event, and the run still holds each planned event and materialisation
    once, every partition marked as when nothing failed."""
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "1000")
    failed = fail_first_batch_index_write(monkeypatch, PooledPostgresEventLogStorage)
    with dg.DagsterInstance.from_config(str(production_home)) as instance:
        result = dg.materialize([letters], instance=instance, tags=RANGE_TAGS)
        assert failed == [1]
        assert "Falling back to storing multiple single-event storage requests" in (
            capfd.readouterr().err
        )
        for kind in (
            dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
            dg.DagsterEventType.ASSET_MATERIALIZATION,
        ):
            records = instance.get_records_for_run(result.run_id, of_type=kind).records
            assert sorted(r.event_log_entry.dagster_event.partition for r in records) == [
                "a",
                "b",
                "c",
            ], kind
        statuses = instance.get_status_by_partition(letters.key, ["a", "b", "c"], LETTERS)
        assert statuses == dict.fromkeys("abc", AssetPartitionStatus.MATERIALIZED)
