"""The code location's contracts: names and partition keys users' backfills and scripts use.

Renaming an asset, a check or a job, or changing a key format, orphans every materialization
and backfill recorded under the old name: such a change must show up here, on purpose.
"""

from collections.abc import Callable
from datetime import UTC, datetime

import dagster as dg
import pytest
import time_machine
from dagster._core.remote_representation.external_data import RepositorySnap

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
CHECKS = {"bars:bars_valid_and_complete", "signals:signals_sane"}
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
    assert set(defs.resources) == {"pipeline", "io_manager"}


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

    pipeline = defs.resources["pipeline"]
    assert isinstance(pipeline.database_url, dg.EnvVar)
    assert pipeline.database_url.env_var_name == "DGAS_DATABASE_URL"
    assert isinstance(pipeline.polygon_api_key, dg.EnvVar)
    assert pipeline.polygon_api_key.env_var_name == "POLYGON_API_KEY"
    # What the webserver and the UI get of the code location: names, never values.
    shipped = dg.serialize_value(RepositorySnap.from_def(defs.get_repository_def()))
    shipped += repr(defs.resources)
    for value in hidden:
        assert value not in shipped
    assert "POLYGON_API_KEY" in shipped and "DGAS_DATABASE_URL" in shipped
