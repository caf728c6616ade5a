"""Lateness with the real daemon on the stepped clock: a bar nobody ran is a failed `on_time`
check within a tick of its due time + grace; a bar the daemon ran on time passes.

Partitions start Friday 2026-11-20. The daemon first starts at 10:06 ET, after the 09:30 bar
(due 10:00) passed its deadline (10:05): the market clock's first tick owes nothing before its
start, so that bar never runs, and the lateness sensor's first tick (looking back a week, to
no earlier than partitions_start) fails it. The 10:00 bar runs live at 10:30 and passes at
its deadline 10:35. `dgas status`, under the same clock, lists the late bar.
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path

import dagster as dg
from dagster._core.event_api import PartitionKeyFilter

from dgas_pipeline_tests.automation.conftest import et
from dgas_pipeline_tests.daemon.launches import planned, step_to
from dgas_pipeline_tests.processes import BIN, Site, open_site

FRIDAY = "2026-11-20"
SIGNALS_ON_TIME = dg.AssetCheckKey(dg.AssetKey("signals"), "on_time")


def verdicts(site: Site, partition: str) -> list[tuple[str, str | None]]:
    """Every stored `on_time` verdict of a `signals` partition: (status, description)."""
    history = site.instance.event_log_storage.get_asset_check_execution_history(
        SIGNALS_ON_TIME, limit=10, partition_filter=PartitionKeyFilter(key=partition)
    )
    return [
        (r.status.value, r.event.asset_check_evaluation.description if r.event else None)
        for r in history
    ]


def test_the_daemon_fails_a_bar_never_run_and_passes_one_run_on_time(tmp_path: Path) -> None:
    config = {"partitions_start": FRIDAY}
    with open_site(tmp_path, et(f"{FRIDAY} 10:06"), config=config) as site:
        day = datetime.fromisoformat(FRIDAY).date()
        first, second = planned(site, day, day)[:2]
        site.start_daemon()
        site.wait_for_tick_at(et(f"{FRIDAY} 10:06"), name="lateness_sensor")
        assert verdicts(site, first.partition_key) == [
            ("FAILED", "due 10:00 ET, nothing by 10:05")
        ], site.logs()

        status = subprocess.run(
            [str(BIN / "dgas"), "status", "--json"],
            env=site.env, cwd=site.root, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        late = json.loads(status.stdout)["late"]
        assert [(x["partition_key"], x["reason"]) for x in late] == [
            (first.partition_key, "due 10:00 ET, nothing by 10:05")
        ]

        step_to(site, second)  # due 10:30: the daemon runs it live, to the end
        # Its run says it materialised; the sensor adds its own verdict at the deadline.
        assert verdicts(site, second.partition_key) == [("SUCCEEDED", "materialised")]
        site.set_clock(et(f"{FRIDAY} 10:35:30"))
        site.wait_for_tick_at(et(f"{FRIDAY} 10:35:30"), name="lateness_sensor")
        assert verdicts(site, second.partition_key) == [("SUCCEEDED", "materialised")] * 2
        assert len(verdicts(site, first.partition_key)) == 1  # judged once
