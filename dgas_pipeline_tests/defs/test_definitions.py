"""The code location's contracts: names and partition keys users' backfills and scripts use.

Renaming an asset, a check or a job, or changing a key format, orphans every materialization
and backfill recorded under the old name: such a change must show up here, on purpose.
"""

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
import time_machine
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster._core.storage import tags

from dgas_pipeline import definitions as code_location_module
from dgas_pipeline.defs import names

AFTER_THE_YEAR = datetime(2027, 1, 15, tzinfo=UTC)  # every 2026 key exists by then

ASSETS = {
    "bars",
    "indicators",
    "signals",
    "notifications",
    "alerts",
    "eod_consolidation",
    "calibration_report",
}
CHECKS = {
    "bars:bars_valid_and_complete",
    "signals:signals_sane",
    "signals:on_time",
    "eod_consolidation:on_time",
}
JOBS = {
    "prediction_cycle",
    "eod_job",
    "metrics_rollup_job",
    "calibration_report_job",
    "watchlist_job",
}
SELECTIONS = {
    "prediction_cycle": {"bars", "indicators", "signals", "notifications", "alerts"},
    "eod_job": {"eod_consolidation"},
    "calibration_report_job": {"calibration_report"},
}
KINDS = {"prediction_cycle": "cycle", "eod_job": "eod", "calibration_report_job": "report"}

Build = Callable[..., dg.Definitions]


@pytest.fixture
def defs(code_location: Build) -> dg.Definitions:
    return code_location()


def test_the_definitions_load(defs: dg.Definitions) -> None:
    dg.Definitions.validate_loadable(defs)
    assert set(defs.resources) == {"location", "database", "providers", "io_manager"}


def test_asset_check_and_job_names_are_the_published_ones(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == ASSETS
    assert {k.to_user_string() for k in graph.asset_check_keys} == CHECKS
    assert {j.name for j in defs.resolve_all_job_defs() if not j.name.startswith("__")} == JOBS
    for name, selection in SELECTIONS.items():
        job = defs.resolve_job_def(name)
        assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == selection
        assert job.tags["dgas/kind"] == KINDS[name]


@pytest.mark.parametrize(
    ("job", "key", "exists"),
    [
        ("prediction_cycle", "2026-11-27-12:30", True),  # last bar of the early close
        ("prediction_cycle", "2026-11-27-09:30", True),
        ("prediction_cycle", "2026-11-26-10:00", False),  # Thanksgiving
        ("prediction_cycle", "2026-11-27-13:00", False),  # after the early close
        ("prediction_cycle", "2026-11-27 12:30", False),  # only the published format
        ("eod_job", "2026-11-27", True),
        ("eod_job", "2026-11-26", False),
        ("eod_job", "2026-11-28", False),  # Saturday
        ("calibration_report_job", "2026-11-23", True),  # Thanksgiving week, by its Monday
        ("calibration_report_job", "2026-11-27", False),  # a week's key is its Monday
    ],
)
def test_partition_keys_follow_the_published_format(
    defs: dg.Definitions, job: str, key: str, exists: bool
) -> None:
    partitions = defs.resolve_job_def(job).partitions_def
    assert partitions is not None
    with time_machine.travel(AFTER_THE_YEAR):
        assert partitions.has_partition_key(key) is exists


def test_the_cycle_and_eod_assets_share_their_jobs_partitions(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    for name, selection in SELECTIONS.items():
        job_partitions = defs.resolve_job_def(name).partitions_def
        for asset in selection:
            assert graph.get(dg.AssetKey(asset)).partitions_def == job_partitions, asset
    cycles = defs.resolve_job_def("prediction_cycle").partitions_def
    assert isinstance(cycles, dg.TimeWindowPartitionsDefinition)
    window = cycles.time_window_for_partition_key("2026-11-27-12:30")
    assert (window.start, window.end) == (
        datetime(2026, 11, 27, 17, 30, tzinfo=UTC),
        datetime(2026, 11, 27, 18, 0, tzinfo=UTC),
    )


def test_no_resource_config_holds_a_secret_value(code_location: Build) -> None:
    hidden = ("pk-not-for-your-eyes", "hook-not-for-your-eyes", "db-not-for-your-eyes")
    hook = "json://127.0.0.1:9/hook?+Authorization=Bearer%20${WEBHOOK_TOKEN}"
    defs = code_location(
        {
            "provider": {"chain": ["synthetic", "polygon"]},
            "notifications": {"channels": [{"name": "hook", "url": hook}]},
        },
        POLYGON_API_KEY=hidden[0],
        WEBHOOK_TOKEN=hidden[1],
        DGAS_DATABASE_URL=f"postgresql://dgas:{hidden[2]}@db.internal:5432/dgas",
    )

    database, providers = defs.resources["database"], defs.resources["providers"]
    assert isinstance(database.url, dg.EnvVar)
    assert database.url.env_var_name == "DGAS_DATABASE_URL"
    assert isinstance(providers.api_key, dg.EnvVar)
    assert providers.api_key.env_var_name == "POLYGON_API_KEY"
    # What the webserver and the UI get of the code location: names, never values.
    shipped = dg.serialize_value(RepositorySnap.from_def(defs.get_repository_def()))
    shipped += repr(defs.resources)
    for value in hidden:
        assert value not in shipped
    assert "POLYGON_API_KEY" in shipped and "DGAS_DATABASE_URL" in shipped


# -- built from a location, never at import ----------------------------------------------------


def test_importing_the_code_location_builds_nothing(tmp_path: Path) -> None:
    """Every module of the package imports with a config that cannot load: nothing reads it
    until the definitions are built (then the error names the file)."""
    missing = tmp_path / "missing.yaml"
    script = (
        "import importlib, pkgutil, dgas_pipeline\n"
        "for m in pkgutil.walk_packages(dgas_pipeline.__path__, 'dgas_pipeline.'):\n"
        "    if '.migrations' in m.name or m.name.endswith(('celery_worker', '__main__')):\n"
        "        continue\n"
        "    importlib.import_module(m.name)\n"
        "from dgas_pipeline.definitions import defs\n"
        "try:\n"
        "    defs()\n"
        "except Exception as err:\n"
        "    print(type(err).__name__, err)\n"
    )
    env = {**os.environ, "DGAS_CONFIG": str(missing), "DAGSTER_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("InvalidInput config:"), done.stdout
    assert str(missing) in done.stdout


@pytest.mark.parametrize(
    ("config", "first_key"),
    [
        ({"partitions_start": "2026-01-05"}, "2026-01-05-09:30"),
        ({"partitions_start": "2026-06-01", "interval": "15min"}, "2026-06-01-09:30"),
        ({"partitions_start": "2026-11-26"}, "2026-11-27-09:30"),  # starts on Thanksgiving
    ],
)
def test_each_config_builds_its_own_partitions_in_one_process(
    code_location: Build, config: dict[str, str], first_key: str
) -> None:
    other = code_location({"partitions_start": "2025-12-01", "interval": "5min"})
    defs = code_location(config)
    keys = defs.resolve_job_def("prediction_cycle").partitions_def
    others = other.resolve_job_def("prediction_cycle").partitions_def
    assert keys is not None and others is not None
    with time_machine.travel(AFTER_THE_YEAR):
        assert keys.get_first_partition_key() == first_key
        assert others.get_first_partition_key() == "2025-12-01-09:30"


def test_the_code_location_module_builds_the_location_dagster_config_names(
    code_location: Build, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code_location()  # an isolated home and working directory
    config = tmp_path / "dgas.yaml"
    config.write_text("interval: 15min\ntimeout_seconds: 240\n", encoding="utf-8")
    monkeypatch.setenv("DGAS_CONFIG", str(config))
    defs = code_location_module.defs()
    dg.Definitions.validate_loadable(defs)
    job = defs.resolve_job_def("prediction_cycle")
    assert job.tags["dagster/max_runtime"] == "240"
    with time_machine.travel(AFTER_THE_YEAR):
        assert job.partitions_def is not None
        assert job.partitions_def.has_partition_key("2026-11-27-12:45")


@pytest.mark.parametrize(
    ("ours", "dagsters"),
    [
        (names.PARTITION_TAG, tags.PARTITION_NAME_TAG),
        (names.RANGE_START_TAG, tags.ASSET_PARTITION_RANGE_START_TAG),
        (names.RANGE_END_TAG, tags.ASSET_PARTITION_RANGE_END_TAG),
        (names.PARENT_RUN_TAG, tags.PARENT_RUN_ID_TAG),
        (names.RETRY_NUMBER_TAG, tags.RETRY_NUMBER_TAG),
        (names.BACKFILL_ID_TAG, tags.BACKFILL_ID_TAG),
        (names.SENSOR_NAME_TAG, tags.SENSOR_NAME_TAG),
        (names.SCHEDULE_NAME_TAG, tags.SCHEDULE_NAME_TAG),
        (names.MAX_RUNTIME_TAG, tags.MAX_RUNTIME_SECONDS_TAG),
    ],
)
def test_the_dagster_tags_we_read_are_dagsters_own(ours: str, dagsters: str) -> None:
    assert ours == dagsters
