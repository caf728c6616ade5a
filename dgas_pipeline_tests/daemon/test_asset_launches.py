"""Runs of our assets launched on the assets themselves queue like our jobs' runs.

The UI's asset graph and partitions pages ("Materialize", a backfill) run the assets in
Dagster's implicit asset job, whose runs carry no job tags. Launched here through the
webserver's GraphQL `launchRun`, as the UI sends it, on each shipped instance: such a run of
the cycle or EOD assets is queued with our job's run tags (one pipeline run at a time, the
config's `timeout_seconds` as its limit), an operator's own tag is kept, and a run of other
assets gets none. With the daemon: the queue holds such a run while another pipeline run is
in progress, launching a later run of other assets past it, and launches it once that run
ended; a backfill launched on the assets gets the same tags on its range run.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from dgas_pipeline.defs.names import (
    CONCURRENCY_GROUP,
    CONCURRENCY_TAG,
    CYCLE_ASSETS,
    CYCLE_JOB,
    EOD_ASSET,
    KIND_TAG,
    MAX_RUNTIME_TAG,
)
from dgas_pipeline_tests.automation.conftest import et
from dgas_pipeline_tests.daemon.test_postgres import dagster_url, fresh_database
from dgas_pipeline_tests.processes import (
    EMBEDDED_INSTANCE,
    PARTITION_TAG,
    PRODUCTION_INSTANCE,
    Site,
    open_site,
)

__all__ = ["fresh_database"]  # the PostgreSQL case's fixture

SATURDAY_NOON = et("2026-11-28 12:00")  # no bar due: the sensor launches nothing
TIMEOUT_S = 777  # the config's timeout_seconds, distinct from every default
CONFIG = {"timeout_seconds": TIMEOUT_S}
ASSET_JOB = "__ASSET_JOB"
LOCATION = {"repositoryLocationName": "dgas_pipeline", "repositoryName": "__repository__"}
LAUNCH_RUN = """mutation ($params: ExecutionParams!) {
    launchRun(executionParams: $params) {
      __typename
      ... on LaunchRunSuccess { run { runId } }
      ... on RunConfigValidationInvalid { errors { message } }
      ... on Error { message }
    } }"""
LAUNCH_BACKFILL = """mutation ($params: LaunchBackfillParams!) {
    launchPartitionBackfill(backfillParams: $params) {
      __typename
      ... on LaunchBackfillSuccess { backfillId }
      ... on Error { message }
    } }"""
PIPELINE_TAGS = {KIND_TAG, CONCURRENCY_TAG, MAX_RUNTIME_TAG}


def launch(site: Site, job: str, assets: list[str], partition: str, **tags: str) -> dg.DagsterRun:
    """One partition launched as the UI's "Materialize" sends it; the queued run's record."""
    selector: dict[str, Any] = {**LOCATION, "jobName": job}
    if assets:
        selector["assetSelection"] = [{"path": [name]} for name in assets]
    all_tags = {PARTITION_TAG: partition, **tags}
    params = {
        "selector": selector,
        "runConfigData": {},
        "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in all_tags.items()]},
    }
    launched = site.graphql(LAUNCH_RUN, params=params)["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run = site.instance.get_run_by_id(launched["run"]["runId"])
    assert run is not None
    return run


def pipeline_tags_of(run: dg.DagsterRun) -> dict[str, str]:
    return {k: v for k, v in run.tags.items() if k in PIPELINE_TAGS}


def check_launches_are_tagged(site: Site) -> None:
    site.start_webserver()
    cycle = launch(site, ASSET_JOB, list(CYCLE_ASSETS), "2026-11-27-10:00")
    eod = launch(site, ASSET_JOB, [EOD_ASSET], "2026-11-27", **{MAX_RUNTIME_TAG: "99"})
    report = launch(site, ASSET_JOB, ["calibration_report"], "2026-11-23")
    job = launch(site, CYCLE_JOB, [], "2026-11-27-10:30")

    ours = {CONCURRENCY_TAG: CONCURRENCY_GROUP, MAX_RUNTIME_TAG: str(TIMEOUT_S)}
    assert (cycle.job_name, cycle.status) == (ASSET_JOB, dg.DagsterRunStatus.QUEUED)
    assert pipeline_tags_of(cycle) == {**ours, KIND_TAG: "cycle"}
    assert pipeline_tags_of(eod) == {**ours, KIND_TAG: "eod", MAX_RUNTIME_TAG: "99"}
    assert pipeline_tags_of(report) == {}
    assert pipeline_tags_of(job) == {**ours, KIND_TAG: "cycle"}
    assert [r.tags[PARTITION_TAG] for r in (cycle, eod, report, job)] == [
        "2026-11-27-10:00",
        "2026-11-27",
        "2026-11-23",
        "2026-11-27-10:30",
    ]


def test_asset_launches_get_our_job_tags_on_the_embedded_instance(tmp_path: Path) -> None:
    with open_site(tmp_path, SATURDAY_NOON, config=CONFIG, instance_yaml=EMBEDDED_INSTANCE) as site:
        check_launches_are_tagged(site)


@pytest.mark.postgres
def test_asset_launches_get_our_job_tags_on_the_production_instance(
    tmp_path: Path, fresh_database: str
) -> None:
    with open_site(
        tmp_path,
        SATURDAY_NOON,
        config=CONFIG,
        database_url=fresh_database,
        instance_yaml=PRODUCTION_INSTANCE,
        extra_env={"DAGSTER_POSTGRES_URL": dagster_url(fresh_database)},
    ) as site:
        check_launches_are_tagged(site)


def test_an_asset_launch_waits_in_the_queue_for_the_pipeline_run_in_progress(
    tmp_path: Path,
) -> None:
    with open_site(tmp_path, SATURDAY_NOON, config=CONFIG) as site:
        # Another pipeline run in progress (not one of our jobs', so no watch judges it).
        blocker = dg.DagsterRun(
            job_name="elsewhere",
            run_id=str(uuid.uuid4()),
            status=dg.DagsterRunStatus.STARTED,
            tags={CONCURRENCY_TAG: CONCURRENCY_GROUP},
        )
        site.instance.add_run(blocker)
        site.start_webserver()
        site.start_daemon()
        eod = launch(site, ASSET_JOB, [EOD_ASSET], "2026-11-27")
        report = launch(site, ASSET_JOB, ["calibration_report"], "2026-11-23")

        # The queue went past the EOD run to launch the later report run, and ran it.
        finished = site.wait_for(
            lambda: (r := site.instance.get_run_by_id(report.run_id)) and r.is_finished and r,
            "the report run launched past the held EOD run, finished",
        )
        assert finished.status == dg.DagsterRunStatus.SUCCESS, site.logs()
        held = site.instance.get_run_by_id(eod.run_id)
        assert held is not None and held.status == dg.DagsterRunStatus.QUEUED, site.logs()

        site.instance.report_run_canceled(blocker)
        ended = site.instance.get_run_record_by_id(blocker.run_id)
        assert ended is not None and ended.end_time is not None
        done = site.wait_for(
            lambda: (
                (r := site.instance.get_run_record_by_id(eod.run_id))
                and r.dagster_run.is_finished
                and r
            ),
            "the EOD run launched once the pipeline run ended, finished",
        )
        assert done.dagster_run.status == dg.DagsterRunStatus.SUCCESS, site.logs()
        assert done.start_time is not None
        assert done.start_time > ended.end_time

        # A backfill of two bars on the assets (the UI's asset graph): the backfill daemon's
        # range run is queued with our tags too.
        params = {
            "partitionNames": ["2026-11-27-09:30", "2026-11-27-10:00"],
            "assetSelection": [{"path": [name]} for name in CYCLE_ASSETS],
            "fromFailure": False,
        }
        launched = site.graphql(LAUNCH_BACKFILL, params=params)["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        backfill_run = site.wait_for_run(**{"dagster/backfill": launched["backfillId"]})
        assert backfill_run.job_name == ASSET_JOB
        assert backfill_run.status == dg.DagsterRunStatus.SUCCESS, site.logs()
        assert pipeline_tags_of(backfill_run) == {
            CONCURRENCY_TAG: CONCURRENCY_GROUP,
            MAX_RUNTIME_TAG: str(TIMEOUT_S),
            KIND_TAG: "cycle",
        }
