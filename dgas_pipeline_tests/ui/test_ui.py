"""The Dagster UI end to end: a real webserver and daemon, driven in headless Chromium.

What an operator sees and does (README, "Open the UI"), checked in the browser and saved as
the README's screenshots (`docs/screenshots/`, or `$DGAS_UI_SCREENSHOTS`):
- the cycle assets in the asset graph;
- the partitions of `bars`: exactly the planner's bars (no holiday, nothing after an early
  close), in the webserver's GraphQL answer and in the UI's partition list;
- a backfill of a missed session launched from the job's "Materialize all" dialog, run by the
  daemon and mirrored into `prediction_runs` as launched by a backfill;
- a range run failing half-way with batched event writes: its bars failed on the failed
  asset's partitions page, in the run page, and in `prediction_runs`;
- `market_clock_sensor` with the readable skip reason of its Thanksgiving ticks;
- the strongest signal's chart, a Markdown image in the `signals` materialization;
- bars the daemon never ran (2026-11-23..25) as failed `on_time` checks on `signals`, with
  the reason the lateness sensor gave.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
import yaml
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from dgas_pipeline.defs.names import RANGE_END_TAG, RANGE_START_TAG
from dgas_pipeline.defs.runtime.event_batching import BATCH_SIZE_ENV, EVENT_BATCH_SIZE
from dgas_pipeline.location import load_location
from dgas_pipeline.market import plan_launches
from dgas_pipeline.store import tables
from dgas_pipeline.store.engine import dispose_engine, make_engine, write_transaction
from dgas_pipeline_tests.automation.conftest import ONE_RULE
from dgas_pipeline_tests.ui.conftest import (
    HISTORY_SESSION,
    PARTITIONS_START,
    Deployment,
    dgas,
    screenshot,
)

LOCATION = "dgas_pipeline"
CYCLE_ASSETS = ("bars", "indicators", "signals", "notifications", "alerts")
MISSED_SESSION = date(2026, 11, 25)  # the session before Thanksgiving; no history
# A session of its own, outside the lateness sensor's look-back (a week from the sensor's
# clock), so no on_time verdict lands on its bars.
FAILING_SESSION = date(2026, 11, 17)
REFUSAL = "alert_state refuses writes"
BACKFILL_DEADLINE_S = 150
TICK_DEADLINE_S = 90
CHART_VIEWPORT = {"width": 1400, "height": 920}
KEY = re.compile(r"^\d{4}-\d\d-\d\d-\d\d:\d\d$")


def planned_cycle_keys(deployment: Deployment, first: date, last: date) -> list[tuple[str, Any]]:
    """(partition key, bar end) of each planned cycle bar of the sessions first..last."""
    location = load_location(str(deployment.config_path))
    launches = plan_launches(location.market, first, last, location.config.plan_settings)
    return [(x.partition_key, x.bar_end) for x in launches if x.kind == "cycle"]


def mirror_rows(deployment: Deployment, *where: Any) -> list[dict[str, Any]]:
    url = f"sqlite:///{deployment.db_path}"
    try:
        with make_engine(url).connect() as conn:
            query = sa.select(tables.prediction_runs).where(*where)
            result = conn.execute(query.order_by(tables.prediction_runs.c.id))
            return [dict(r) for r in result.mappings()]
    finally:
        dispose_engine(url)


@contextlib.contextmanager
def alert_state_refused(deployment: Deployment) -> Iterator[None]:
    """Inside the block, the database refuses every write of an alert rule's state: the
    `alerts` step of a cycle fails after its bars' `notifications` materialised (a trigger,
    as the run executes in another process, out of a monkeypatch's reach)."""
    url = f"sqlite:///{deployment.db_path}"
    try:
        with write_transaction(make_engine(url)) as conn:
            for event in ("INSERT", "UPDATE"):
                conn.exec_driver_sql(
                    f"CREATE TRIGGER refuse_alert_state_{event.lower()} BEFORE {event} ON "
                    f"alert_state BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
                )
        yield
    finally:
        with write_transaction(make_engine(url)) as conn:
            for event in ("INSERT", "UPDATE"):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS refuse_alert_state_{event.lower()}")
        dispose_engine(url)


def partition_dots(page: Page) -> dict[str, str]:
    """The rendered rows of an asset's partition list, key -> the colour of its status dot:
    `var(--color-accent-red)` failed, `...-green` materialised, `...-gray` missing."""
    rows = page.locator("[data-tooltip]").evaluate_all(
        "els => els.map(e => [e.dataset.tooltip, e.nextElementSibling?.style.background ?? ''])"
    )
    return {key: colour for key, colour in rows if KEY.match(key)}


def shown_partitions(page: Page, name_filter: str, expected: list[str]) -> list[str]:
    """Filter the asset's partition list by name; the keys it shows (newest first).

    The list is virtualised: only its top is rendered. Waits (a few seconds) until what is
    shown is the top of `expected`, so a list that has not re-rendered yet is not read.
    """
    page.get_by_placeholder("Filter by name").fill(name_filter)
    deadline = time.monotonic() + 10
    while True:
        titles = page.locator("[title]").evaluate_all("els => els.map(e => e.title)")
        shown = [t for t in titles if KEY.match(t) and name_filter in t]
        if (shown and shown == expected[: len(shown)]) or time.monotonic() > deadline:
            return shown
        time.sleep(0.2)


def test_asset_graph_shows_the_cycle_assets(deployment: Deployment, page: Page) -> None:
    page.goto(f"{deployment.base_url}/locations/{LOCATION}/asset-groups/prediction_cycle/lineage")
    for name in CYCLE_ASSETS:
        expect(page.get_by_text(name, exact=True).first).to_be_visible()
    # Each node's partition count and latest event, once the node's data has loaded.
    expect(page.get_by_text(re.compile(r"^[\d,]+ partitions$"))).to_have_count(len(CYCLE_ASSETS))
    expect(page.get_by_text(re.compile(r"^Loading"))).to_have_count(0)
    screenshot(page, "asset-graph")


def test_bars_partitions_are_the_planned_bars_without_holidays_or_early_close_tail(
    deployment: Deployment, page: Page
) -> None:
    before = datetime.now(UTC)
    data = deployment.graphql(
        '{ assetNodeOrError(assetKey: {path: ["bars"]}) { ... on AssetNode { partitionKeys } } }'
    )
    after = datetime.now(UTC)
    keys = data["assetNodeOrError"]["partitionKeys"]
    planned = planned_cycle_keys(deployment, PARTITIONS_START, after.date())
    # A bar that ended while the webserver answered may or may not be listed.
    assert keys in (
        [k for k, end in planned if end <= before],
        [k for k, end in planned if end <= after],
    )
    assert "2026-11-20-10:00" in keys
    assert "2025-11-28-12:30" in keys  # last bar of the 13:00 early close after Thanksgiving
    for absent in ("2026-11-26-10:00", "2026-11-27-13:00", "2025-11-27-10:00", "2025-11-28-13:00"):
        assert absent not in keys

    page.goto(f"{deployment.base_url}/assets/bars?view=partitions")
    # The README's view last: Friday's early close, then straight back to Wednesday.
    for name_filter in ("2026-11-20-10:00", "2026-11-2", "2025-11-2"):
        expected = [k for k in reversed(keys) if name_filter in k]
        shown = shown_partitions(page, name_filter, expected)
        assert shown == expected[: len(shown)], name_filter
        assert len(shown) >= min(len(expected), 8), (name_filter, shown)
    assert shown[:8] == [
        *(f"2025-11-28-{t}" for t in ("12:30", "12:00", "11:30", "11:00", "10:30", "10:00")),
        "2025-11-28-09:30",
        "2025-11-26-15:30",
    ]
    screenshot(page, "bars-partitions")


def test_backfill_launched_from_the_ui_runs_and_is_mirrored(
    deployment: Deployment, page: Page
) -> None:
    bars = [key for key, _ in planned_cycle_keys(deployment, MISSED_SESSION, MISSED_SESSION)]
    session = tables.prediction_runs.c.partition_key.in_(bars)
    assert mirror_rows(deployment, session) == []  # missed: never ran

    page.goto(f"{deployment.base_url}/locations/{LOCATION}/jobs/prediction_cycle")
    page.get_by_role("button", name="Materialize all…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Launch runs to materialize 5 assets")).to_be_visible()
    # The dialog offers the last 90 days first, once it knows the partitions.
    with contextlib.suppress(PlaywrightTimeoutError):
        dialog.get_by_role("button", name="Show all partitions").click(timeout=5_000)
    selection = dialog.get_by_role("textbox").first
    selection.fill(f"[{bars[0]}...{bars[-1]}]")
    selection.press("Enter")
    expect(dialog.get_by_text(f"{len(bars)} partitions", exact=True)).to_be_visible()
    screenshot(page, "backfill-launch")
    dialog.get_by_role("button", name="Launch backfill").click()
    created = page.get_by_text(re.compile(r"Created backfill \w+"))
    expect(created).to_be_visible()
    backfill_id = created.inner_text().split()[-1]

    status_query = """query ($id: String!) {
        partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status } } }"""
    deadline = time.monotonic() + BACKFILL_DEADLINE_S
    rows: list[dict[str, Any]] = []
    status = ""
    while time.monotonic() < deadline:
        deployment.assert_alive()
        rows = mirror_rows(deployment, session)
        status = deployment.graphql(status_query, id=backfill_id)["partitionBackfillOrError"][
            "status"
        ]
        if status.startswith("COMPLETED") and all(r["status"] != "RUNNING" for r in rows):
            break
        time.sleep(1)
    assert status == "COMPLETED_SUCCESS", f"backfill {backfill_id}: {status}\n{deployment.logs()}"
    assert [(r["partition_key"], r["kind"], r["status"], r["launched_by"]) for r in rows] == [
        (key, "cycle", "SUCCESS", "backfill") for key in bars
    ], deployment.logs()
    runs = deployment.graphql(
        """query ($id: String!) { runsOrError(filter: {tags: [{key: "dagster/backfill",
                                                              value: $id}]}) {
             ... on Runs { results { runId jobName status } } } }""",
        id=backfill_id,
    )["runsOrError"]["results"]
    # The job's single-run backfill policy: the session's bars in one run.
    assert [(r["jobName"], r["status"]) for r in runs] == [("prediction_cycle", "SUCCESS")]
    assert {r["dagster_run_id"] for r in rows} == {runs[0]["runId"]}

    page.goto(f"{deployment.base_url}/runs/b/{backfill_id}")
    expect(page.get_by_text("Succeeded", exact=True).first).to_be_visible()
    expect(page.get_by_text("100% completed")).to_be_visible()
    screenshot(page, "backfill-done")


def test_a_range_run_failing_half_way_with_batched_events_shows_its_bars_failed(
    deployment: Deployment, page: Page, tmp_path_factory: pytest.TempPathFactory
) -> None:
    bars = [key for key, _ in planned_cycle_keys(deployment, FAILING_SESSION, FAILING_SESSION)]
    session = tables.prediction_runs.c.partition_key.in_(bars)
    assert mirror_rows(deployment, session) == []
    # The CLI runs the session as one range run here, with batched event writes and an alert
    # rule (in a config of its own: the served code location keeps the deployment's).
    root = tmp_path_factory.mktemp("failing")
    rules, config = root / "alerts.yaml", root / "dgas.yaml"
    rules.write_text(yaml.safe_dump(ONE_RULE), encoding="utf-8")
    settings = {"partitions_start": PARTITIONS_START.isoformat(), "alerts_file": str(rules)}
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    env = deployment.env | {"DGAS_CONFIG": str(config), BATCH_SIZE_ENV: str(EVENT_BATCH_SIZE)}
    day = FAILING_SESSION.isoformat()
    with alert_state_refused(deployment):
        result = dgas(env, root, "backfill", "--start", day, "--end", day, "--wait", returncode=1)
    (run,) = [r for r in result["runs"] if r["kind"] == "cycle"]
    assert (run["partitions"], run["success"]) == (bars, False)

    # Our mirror: every bar of the run failed, naming the asset.
    rows = mirror_rows(deployment, session)
    assert [(r["partition_key"], r["status"], r["dagster_run_id"]) for r in rows] == [
        (key, "FAILED", run["run_id"]) for key in bars
    ]
    errors = [(e.split(":")[0], REFUSAL in e) for r in rows for e in r["errors"]]
    assert errors == [("alerts", True)] * len(bars), rows

    # Dagster's: on the failed asset's partitions, over the run's range, every bar failed ...
    span = quote(f"[{bars[0]}...{bars[-1]}]")
    page.goto(f"{deployment.base_url}/assets/alerts?view=partitions&default_range={span}")
    expect(page.get_by_text(f"{len(bars)} Partitions Selected", exact=True)).to_be_visible()
    for label in (f"Failed ({len(bars)})", "Materialized (0)", "Missing (0)"):
        expect(page.get_by_text(label, exact=True)).to_be_visible()
    newest_dot = page.locator(f"[data-tooltip='{bars[-1]}'] + div")
    expect(newest_dot).to_have_attribute("style", re.compile(r"--color-accent-red\b"))
    assert partition_dots(page) == dict.fromkeys(reversed(bars), "var(--color-accent-red)")
    # ... each from this run, which did not materialise it;
    page.get_by_title(bars[-1], exact=True).click()
    failure = page.get_by_text(re.compile(r"failed, and did not materialize this asset\.$"))
    expect(failure).to_be_visible()
    expect(failure.get_by_role("link")).to_have_text(run["run_id"][:8])
    screenshot(page, "failed-range-run")
    # the steps before it materialised their bars: the run failed half-way.
    page.goto(f"{deployment.base_url}/assets/notifications?view=partitions&default_range={span}")
    expect(page.get_by_text(f"Materialized ({len(bars)})", exact=True)).to_be_visible()

    # The run page: failed, at `alerts`, over the range of bars.
    page.goto(f"{deployment.base_url}/runs/{run['run_id']}")
    expect(page.get_by_text("Failure", exact=True).first).to_be_visible()
    expect(page.get_by_text("Errored (1)")).to_be_visible()
    expect(page.get_by_text("Steps failed: ['alerts']").first).to_be_visible()
    page.get_by_role("button", name="View tags and config").click()
    tags = page.get_by_role("dialog")
    for tag, key in ((RANGE_START_TAG, bars[0]), (RANGE_END_TAG, bars[-1])):
        expect(tags.get_by_text(f"{tag.split('/')[-1]}: {key}", exact=True)).to_be_visible()


def test_sensor_page_shows_the_skip_reason(deployment: Deployment, page: Page) -> None:
    reason = "market closed: Thanksgiving; next open Fri 2026-11-27 09:30 ET"
    query = """query ($name: String!) {
        sensorOrError(sensorSelector: {repositoryLocationName: "dgas_pipeline",
                                       repositoryName: "__repository__", sensorName: $name}) {
          ... on Sensor { sensorState { status ticks(limit: 5) { status skipReason } } }
        } }"""
    deadline = time.monotonic() + TICK_DEADLINE_S
    ticks: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        deployment.assert_alive()
        state = deployment.graphql(query, name="market_clock_sensor")["sensorOrError"]
        ticks = [t for t in state["sensorState"]["ticks"] if t["status"] != "STARTED"]
        if ticks:
            break
        time.sleep(1)
    assert ticks, f"no tick in {TICK_DEADLINE_S}s\n{deployment.logs()}"
    assert {(t["status"], t["skipReason"]) for t in ticks} == {("SKIPPED", reason)}

    page.goto(f"{deployment.base_url}/locations/{LOCATION}/sensors/market_clock_sensor")
    expect(page.get_by_text("Launches each planned cycle and EOD")).to_be_visible()
    ticks_table = page.locator("table").filter(has_text="View logs")
    tooltip = page.get_by_text(reason)
    for _ in range(10):  # the table re-renders on every poll, which can drop a hover
        latest = ticks_table.locator("tbody tr").first
        latest.get_by_text("0 runs requested").first.hover()  # the tick's status tag
        try:
            expect(tooltip).to_be_visible(timeout=3_000)
            break
        except AssertionError:
            page.mouse.move(0, 0)
    expect(tooltip).to_be_visible()
    page.wait_for_timeout(500)  # the tooltip fades in
    screenshot(page, "sensor-skip-reason")


def test_signals_materialization_shows_the_signal_chart(deployment: Deployment, page: Page) -> None:
    with_signals = [
        r["partition_key"]
        for r in mirror_rows(
            deployment,
            tables.prediction_runs.c.kind == "cycle",
            tables.prediction_runs.c.signals_generated > 0,
            tables.prediction_runs.c.partition_key.startswith(HISTORY_SESSION.isoformat()),
        )
    ]
    assert with_signals, "the history session has no bar with signals: pick another session"
    key = with_signals[0]

    page.set_viewport_size(CHART_VIEWPORT)  # the chart dialog is wider than the default
    page.goto(f"{deployment.base_url}/assets/signals?view=partitions&partition={key}")
    expect(page.get_by_text("strongest_signal_chart")).to_be_visible()
    page.get_by_text("[Show Markdown]").click()
    dialog = page.get_by_role("dialog").filter(has_text="strongest_signal_chart")
    chart = dialog.locator("img")
    expect(chart).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))
    expect(chart).to_be_visible()
    width = chart.evaluate("img => img.complete ? img.naturalWidth : 0")
    assert width > 0  # the PNG decoded
    screenshot(page, "signal-chart")


def test_a_bar_never_run_is_a_failed_on_time_check_with_its_reason(
    deployment: Deployment, page: Page
) -> None:
    # The daemon's first lateness tick (clock: Thanksgiving noon) looks back a week: nothing
    # ran Monday 2026-11-23, so its 09:30 bar (due 10:00 ET, grace 5 min) failed.
    key, reason = "2026-11-23-09:30", "due 10:00 ET, nothing by 10:05"
    query = """query ($partition: String!) {
        assetCheckExecutions(assetKey: {path: ["signals"]}, checkName: "on_time",
                             partition: $partition, limit: 5) {
          status evaluation { description partition }
        } }"""
    deadline = time.monotonic() + TICK_DEADLINE_S
    executions: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not executions:
        deployment.assert_alive()
        executions = deployment.graphql(query, partition=key)["assetCheckExecutions"]
        time.sleep(1)
    assert executions, f"no on_time verdict in {TICK_DEADLINE_S}s\n{deployment.logs()}"
    assert [(e["status"], e["evaluation"]["description"]) for e in executions] == [
        ("FAILED", reason)
    ]

    # The check's execution history lists the verdicts with their reasons, newest first (a
    # backfill run of the same bars adds its own passed ones).
    page.goto(f"{deployment.base_url}/assets/signals?view=checks&checkDetail=on_time")
    page.get_by_role("tab", name="Execution history").click()
    late = re.compile(r"^due \d\d:\d\d ET, nothing by \d\d:\d\d$")
    expect(page.get_by_text(late).first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Failed").first).to_be_visible()
    screenshot(page, "late-bar-check")
