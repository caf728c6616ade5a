"""A UI launch racing the sensor: one set of signals, one notification per channel.

A real webserver and daemon serve a site whose pipeline clock stands just before a bar K of
2026-11-20 falls due (the bar with the most signals under the default config, so there is
something to duplicate). At once, the clock is stepped to the due instant (the sensor requests
run key `cycle:K`) and the same partition of `prediction_cycle` is launched through the
webserver's GraphQL `launchRun`, with the partition's tags and run config the webserver itself
gives (what the UI's "Materialize" of one partition sends). Two runs of one bar, launched by
two processes within a second or two: the run queue's `dgas/concurrency` limit must run them
one after the other, and whichever runs second must find the signals stored and the messages
sent, storing and sending nothing again. Two webhook channels (two paths of one loopback
server) count each delivery.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import yaml

from dgas_pipeline.defs.names import CONCURRENCY_TAG, CYCLE_JOB
from dgas_pipeline.defs.runtime.runs import launched_by
from dgas_pipeline.store.engine import dispose_engine
from dgas_pipeline_tests.daemon.launches import before, enqueued_at, planned
from dgas_pipeline_tests.defs.conftest import SESSION, busiest_bar
from dgas_pipeline_tests.notify.servers import Webhook, serve_webhook
from dgas_pipeline_tests.processes import RUN_KEY_TAG, Site, open_site
from dgas_pipeline_tests.reliability.test_killed_runs import (
    expected_identities,
    read_tables,
    signal_identities,
)

CHANNELS = {"hook": "/hook", "relay": "/relay"}  # channel name -> its path on the webhook
LOCATION = {"repositoryLocationName": "dgas_pipeline", "repositoryName": "__repository__"}
PARTITION_SET = f"{CYCLE_JOB}_partition_set"
PARTITION_QUERY = """query ($repo: RepositorySelector!, $set: String!, $key: String!) {
    partitionSetOrError(repositorySelector: $repo, partitionSetName: $set) {
      __typename
      ... on PartitionSet { partition(partitionName: $key) {
          runConfigOrError { __typename ... on PartitionRunConfig { yaml }
                             ... on PythonError { message } }
          tagsOrError { __typename ... on PartitionTags { results { key value } }
                        ... on PythonError { message } } } }
      ... on PythonError { message }
    } }"""
LAUNCH_RUN = """mutation ($params: ExecutionParams!) {
    launchRun(executionParams: $params) {
      __typename
      ... on LaunchRunSuccess { run { runId status } }
      ... on RunConfigValidationInvalid { errors { message } }
      ... on Error { message }
    } }"""


def launch_from_ui(site: Site, partition_key: str) -> str:
    """Launch one partition of the cycle job as the UI does: ask the webserver for the
    partition's run config and tags, then `launchRun` with them; the new run's id."""
    partition_set = site.graphql(
        PARTITION_QUERY, repo=LOCATION, set=PARTITION_SET, key=partition_key
    )
    found = partition_set["partitionSetOrError"]
    assert found["__typename"] == "PartitionSet", found
    partition = found["partition"]
    assert partition["runConfigOrError"]["__typename"] == "PartitionRunConfig", partition
    assert partition["tagsOrError"]["__typename"] == "PartitionTags", partition
    params = {
        "selector": {**LOCATION, "jobName": CYCLE_JOB},
        "runConfigData": yaml.safe_load(partition["runConfigOrError"]["yaml"]) or {},
        "executionMetadata": {"tags": partition["tagsOrError"]["results"]},
    }
    launched = site.graphql(LAUNCH_RUN, params=params)["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return str(launched["run"]["runId"])


def launched_at(site: Site, run: dg.DagsterRun) -> float:
    """When the queue handed the run to the launcher (its one RUN_STARTING event)."""
    records = site.instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.RUN_STARTING
    ).records
    assert len(records) == 1, f"{len(records)} RUN_STARTING events for run {run.run_id}"
    return records[0].event_log_entry.timestamp


def deliveries(webhook: Webhook) -> Counter[tuple[str, str]]:
    """(channel, message key) of every message the webhook's POSTs listed, counted."""
    channel_of = {path: name for name, path in CHANNELS.items()}
    return Counter(
        (channel_of[request["path"]], payload["message_key"])
        for request, post in zip(webhook.requests, webhook.posts(), strict=True)
        for payload in post
    )


@pytest.mark.parametrize("first_launcher", ["ui", "sensor"])
def test_a_ui_launch_and_the_sensor_racing_for_one_bar_run_in_turn_and_send_nothing_twice(
    first_launcher: str,
    tmp_path: Path,
    session_signals: pd.DataFrame,
    figures: Callable[[str, Any], None],
) -> None:
    """`ui`: the UI launch goes in as the clock is stepped, the sensor's request follows a few
    seconds later (its tick). `sensor`: the UI launch goes in the moment the sensor's run
    exists (still queued or starting), a fraction of a second later."""
    bar = busiest_bar(session_signals)
    expected = session_signals[session_signals["partition_key"] == bar.key]
    assert len(expected) >= 2
    with serve_webhook() as webhook:
        config = {
            "notifications": {
                "channels": [
                    {"name": name, "url": webhook.url(path)} for name, path in CHANNELS.items()
                ],
                "backoff_base_seconds": 0,
                "backoff_max_seconds": 0,
            }
        }
        with open_site(tmp_path, bar.end, config=config) as site:
            (launch,) = [x for x in planned(site, SESSION, SESSION) if x.partition_key == bar.key]
            site.set_clock(before(launch))
            site.start_webserver()
            site.start_daemon()
            site.wait_for_tick_at(before(launch))

            site.set_clock(launch.due)  # the sensor's next tick requests cycle:K
            if first_launcher == "ui":
                ui_run_id = launch_from_ui(site, bar.key)
            sensor_run = site.wait_for_run(finished=False, run_key=launch.run_key)
            if first_launcher == "sensor":
                ui_run_id = launch_from_ui(site, bar.key)
            runs = site.wait_until_idle()
            site.assert_alive()

            assert sorted(r.run_id for r in runs) == sorted([ui_run_id, sensor_run.run_id])
            by_launcher = {launched_by(r.tags): r for r in runs}
            assert sorted(by_launcher) == ["sensor", "ui"], [r.tags for r in runs]
            assert RUN_KEY_TAG not in by_launcher["ui"].tags
            for run in runs:
                assert run.job_name == CYCLE_JOB
                assert run.tags["dagster/partition"] == bar.key
                assert run.tags[CONCURRENCY_TAG] == "pipeline"
                assert run.status == dg.DagsterRunStatus.SUCCESS, site.logs()

            # Both through the queue, in the order they came, and the second launched (taken
            # off the queue) only once the first had ended: not merely started after it.
            records = site.instance.get_run_records(
                filters=dg.RunsFilter(run_ids=[r.run_id for r in runs])
            )
            first, second = sorted(records, key=lambda r: enqueued_at(site, r.dagster_run))
            for record in (first, second):
                assert record.start_time is not None and record.end_time is not None
                assert enqueued_at(site, record.dagster_run) <= launched_at(
                    site, record.dagster_run
                )
                assert launched_at(site, record.dagster_run) <= record.start_time
            assert first.end_time is not None
            gap_s = launched_at(site, second.dagster_run) - first.end_time
            assert gap_s > 0, f"the second run was launched {-gap_s:.2f} s before the first ended"
            enqueue_gap_s = enqueued_at(site, second.dagster_run) - enqueued_at(
                site, first.dagster_run
            )
            assert launched_by(first.dagster_run.tags) == first_launcher

            try:
                found = read_tables(site.database_url)
            finally:
                dispose_engine(site.database_url)

        identities = signal_identities(found.signals)
        assert identities == expected_identities(expected)  # one set, and only this bar's
        assert {r["partition_key"] for r in found.signals} == {bar.key}

        sent = deliveries(webhook)
        assert [k for k, n in sent.items() if n > 1] == []
        logged = Counter((r["channel"], r["message_key"]) for r in found.log)
        assert {r["status"] for r in found.log} == {"SENT"}
        assert sent == logged  # each logged SENT delivered once, nothing unlogged
        per_channel = {name: sorted(k for c, k in sent if c == name) for name in CHANNELS}
        assert len(per_channel["hook"]) == len(expected)
        assert per_channel["hook"] == per_channel["relay"]
        for row in found.signals:
            assert row["notification_sent"] is True
            assert sorted(row["notification_channels"]) == sorted(CHANNELS)

        mirrored = sorted(
            (r["dagster_run_id"], r["partition_key"], r["status"]) for r in found.runs
        )
        assert mirrored == sorted((r.run_id, bar.key, "SUCCESS") for r in runs)
        assert found.state["status"] == "IDLE"

        figures("runs", len(runs))
        figures("signals", len(identities))
        figures("deliveries", sum(sent.values()))
        figures("duplicate_signals", sum(n - 1 for n in identities.values()))
        figures("duplicate_notifications", sum(n - 1 for n in sent.values()))
        figures("enqueue_gap_s", round(enqueue_gap_s, 2))
        figures("second_launch_after_first_end_s", round(gap_s, 2))
