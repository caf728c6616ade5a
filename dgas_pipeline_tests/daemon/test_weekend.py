"""Weekend downtime with the real daemon: catch up once, stale never sent.

The daemon serves Friday 2026-11-20 for its first two bars, then is stopped; the pipeline
clock is stepped to Monday 2026-11-23 10:45 ET and the daemon started again. Its first tick
owes everything since Friday's last tick (its cursor survived in the instance): Friday's eleven
remaining bars as ONE range run (stale: their notifications are stored STALE, never sent),
Friday's EOD once (stale too), and Monday's two bars due so far (09:30 and 10:00, within
`stale_after_minutes`). Nothing runs twice; a loopback webhook counts what was delivered.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from dgas_pipeline.store import tables
from dgas_pipeline.store.engine import dispose_engine, make_engine
from dgas_pipeline_tests.automation.conftest import et
from dgas_pipeline_tests.daemon.launches import before, planned, step_to
from dgas_pipeline_tests.daemon.soak import exactly_once_problems, one_run_each
from dgas_pipeline_tests.notify.servers import Webhook
from dgas_pipeline_tests.processes import open_site

FRIDAY, MONDAY = date(2026, 11, 20), date(2026, 11, 23)
LIVE_FRIDAY_BARS = 2
MONDAY_AT = et("2026-11-23 10:45")
HOOK = "hook"


def test_a_weekend_stop_catches_up_friday_once_as_stale_and_runs_monday_live(
    tmp_path: Path, webhook: Webhook, figures: Callable[[str, Any], None]
) -> None:
    config = {
        "notifications": {
            "channels": [{"name": HOOK, "url": webhook.url()}],
            "backoff_base_seconds": 0,
            "backoff_max_seconds": 0,
        },
        # Every signal the analysis finds is stored and notified, so there is something to
        # send live and something to hold back as stale.
        "min_confidence": 0.0,
        "min_signal_strength": 0.0,
        "min_alignment": 0.0,
    }
    with open_site(tmp_path, datetime(2026, 11, 20, tzinfo=UTC), config=config) as site:
        friday = planned(site, FRIDAY, FRIDAY)
        monday = planned(site, MONDAY, MONDAY)
        live, missed, friday_eod = (
            friday[:LIVE_FRIDAY_BARS],
            friday[LIVE_FRIDAY_BARS:-1],
            friday[-1],
        )
        assert len(missed) == 11 and friday_eod.kind == "eod"
        monday_due = [x for x in monday if x.due <= MONDAY_AT]
        assert [x.partition_key for x in monday_due] == ["2026-11-23-09:30", "2026-11-23-10:00"]

        site.set_clock(before(live[0]))
        site.start_daemon()
        site.wait_for_tick_at(before(live[0]))
        for launch in live:
            step_to(site, launch)
        assert site.stop("daemon") == 0
        sent_on_friday = len(webhook.requests)

        site.set_clock(MONDAY_AT)
        site.start_daemon()
        site.wait_for_tick_at(MONDAY_AT)
        runs = site.wait_until_idle()

        range_key = f"cycle-range:{missed[0].partition_key}..{missed[-1].partition_key}"
        expected = one_run_each([*live, friday_eod, *monday_due])
        expected[range_key] = [("cycle", x.partition_key) for x in missed]
        assert exactly_once_problems(site, expected) == [], site.logs()
        tags = {r.tags["dagster/run_key"]: r.tags for r in runs}
        assert tags[range_key]["dgas/stale"] == "true"
        assert tags[friday_eod.run_key]["dgas/stale"] == "true"
        assert {tags[x.run_key]["dgas/stale"] for x in monday_due} == {"false"}

        log = notification_log(site.database_url)
        delivered = [p["message_key"] for p in webhook.payloads()]
        sent = sorted(r["message_key"] for r in log if r["status"] == "SENT")
        assert sorted(delivered) == sent  # each SENT row delivered once, nothing else
        assert [k for k, n in Counter(delivered).items() if n > 1] == []
        assert all(not p["stale"] for p in webhook.payloads())
        missed_keys = {x.partition_key for x in missed}
        missed_rows = [r for r in log if r["partition_key"] in missed_keys]
        assert missed_rows, "the range run stored no signals to hold back"
        assert {r["status"] for r in missed_rows} == {"STALE"}
        (eod_row,) = [r for r in log if r["message_key"] == f"eod:{FRIDAY.isoformat()}"]
        assert eod_row["status"] == "STALE"
        assert sent_on_friday > 0, "Friday's live bars sent nothing: the test shows nothing"

        figures("runs", len(runs))
        figures("delivered_friday", sent_on_friday)
        figures("delivered_total", len(delivered))
        figures("stale_rows", sum(r["status"] == "STALE" for r in log))


def notification_log(url: str) -> list[dict[str, Any]]:
    """Each delivery-log row of the webhook channel, with its signal's bar (None for EODs)."""
    log, signals = tables.notification_log, tables.generated_signals
    query = (
        sa.select(log, signals.c.partition_key)
        .select_from(log.outerjoin(signals, log.c.signal_id == signals.c.id))
        .where(log.c.channel == HOOK)
        .order_by(log.c.id)
    )
    try:
        with make_engine(url).connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]
    finally:
        dispose_engine(url)
