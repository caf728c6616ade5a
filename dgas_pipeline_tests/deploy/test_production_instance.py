"""`deploy/dagster.yaml` loads on a real PostgreSQL and keeps the embedded default's run rules."""

import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.run_coordinator import QueuedRunCoordinator

REPO = Path(__file__).resolve().parents[2]
RUN_RULES = ("run_coordinator", "run_monitoring", "run_retries")


@pytest.fixture
def production_home(tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", pg_url)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def test_production_instance_stores_runs_in_postgres_and_queues_them(
    production_home: Path,
) -> None:
    with dg.DagsterInstance.from_config(str(production_home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        assert instance.run_monitoring_enabled and instance.run_retries_enabled

        run = instance.create_run_for_job(dg.GraphDefinition("noop").to_job())
        assert instance.get_run_by_id(run.run_id) is not None


def test_production_and_embedded_instances_share_the_run_rules() -> None:
    embedded = yaml.safe_load((REPO / "dagster.yaml").read_text())
    production = yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())
    for rule in RUN_RULES:
        assert production[rule] == embedded[rule], rule


def test_secrets_are_not_written_in_the_production_config() -> None:
    text = (REPO / "deploy" / "dagster.yaml").read_text()
    storage = yaml.safe_load(text)["storage"]["postgres"]["postgres_url"]
    assert storage == {"env": "DAGSTER_POSTGRES_URL"}
    assert "password" not in text.lower().replace("<password>", "")
