"""`dgas run-once` shows the cycle's signals and what became of each notification.

The 11:00 bar of Friday 2026-11-27 (ends 11:30) has signals on the default synthetic
watchlist; run at 11:35 they go out on the console, run again they were already sent, and a
bar run a day later is stored, not sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import time_machine

from dgas_pipeline.operate.signals_report import delivery_outcome
from dgas_pipeline_tests.automation.conftest import Deployment, et

DAY = "2026-11-27"


def test_run_once_lists_signals_sent_then_already_sent(deployment: Deployment) -> None:
    env = deployment
    with time_machine.travel(et(f"{DAY} 11:35"), tick=True):
        code, live, _ = env.dgas("run-once", "--at", f"{DAY}T11:35-05:00", "--json")
        assert (code, live["status"]) == (0, "SUCCESS")
        rows = live["signal_details"]
        assert len(rows) == live["signals"] > 0
        for row in rows:
            assert row["partition_key"] == f"{DAY}-11:00"
            assert row["bar_closed"] == "2026-11-27T16:30:00Z"  # 11:30 ET
            assert row["stop"] != row["entry"] != row["target"]
            assert 0 <= row["confidence"] <= 1 and 0 <= row["strength"] <= 1
            assert [(d["channel"], d["status"]) for d in row["deliveries"]] == [("console", "sent")]

        code, again, _ = env.dgas("run-once", "--at", f"{DAY}T11:35-05:00", "--json")
    assert code == 0
    assert [r["id"] for r in again["signal_details"]] == [r["id"] for r in rows]
    statuses = {d["status"] for r in again["signal_details"] for d in r["deliveries"]}
    assert statuses == {"already_sent"}


def test_run_once_for_some_symbols_lists_only_their_signals(deployment: Deployment) -> None:
    """A bar run for the watchlist, then for one of its symbols and one more, then for the
    watchlist again: each run lists the signals of its own symbols, not all of the bar's."""
    env = deployment
    with time_machine.travel(et(f"{DAY} 11:35"), tick=True):
        code, first, _ = env.dgas("run-once", "--at", f"{DAY}T11:35-05:00", "--json")
        assert code == 0 and first["signals"] > 1
        symbol = first["signal_details"][0]["symbol"]
        asked = f"{symbol},ZZTOP"
        code, second, _ = env.dgas(
            "run-once", "--at", f"{DAY}T11:35-05:00", "--symbols", asked, "--json"
        )
        assert code == 0 and second["symbols_requested"] == 2
        listed = {r["symbol"] for r in second["signal_details"]}
        assert symbol in listed and listed <= {symbol, "ZZTOP"}
        assert len(second["signal_details"]) == second["signals"]
        # and the watchlist's run of the bar again: none of ZZTOP's, which is not on it
        code, third, _ = env.dgas("run-once", "--at", f"{DAY}T11:35-05:00", "--json")
    assert code == 0
    assert [r["id"] for r in third["signal_details"]] == [r["id"] for r in first["signal_details"]]


def test_run_once_of_an_old_bar_says_stale_and_how_old_in_the_table(
    deployment: Deployment,
) -> None:
    env = deployment
    # A day and two hours after the bar closed (11:30 Friday -> 13:30 Saturday).
    with time_machine.travel(et("2026-11-28 13:30"), tick=False):
        code, text, err = env.dgas("run-once", "--at", f"{DAY}T11:35-05:00")
    assert (code, err) == (0, "")
    lines = text.splitlines()
    assert lines[0].startswith("SUCCESS: cycle 2026-11-27-11:00 ")
    header = next(i for i, line in enumerate(lines) if line.startswith("symbol "))
    assert lines[header - 1].startswith("signals (") and "times ET" in lines[header - 1]
    assert lines[header].split() == [
        "symbol", "direction", "tf", "bar", "closed", "entry", "stop", "target",
        "conf", "str", "outcome", "patterns",
    ]  # fmt: skip
    first = lines[header + 1].split()
    assert first[3:5] == ["11-27", "11:30"]
    assert lines[header + 2] == "    console: stale: bar closed 1 d 2 h ago, stored not sent"


def test_signals_lists_a_sessions_signals_with_outcomes_and_filters(
    deployment: Deployment,
) -> None:
    env = deployment
    with time_machine.travel(et(f"{DAY} 11:35"), tick=True):
        code, live, _ = env.dgas("run-once", "--at", f"{DAY}T11:35-05:00", "--json")
    assert code == 0 and live["signals"] > 1
    ids = [r["id"] for r in live["signal_details"]]
    with time_machine.travel(et(f"{DAY} 12:00"), tick=True):
        code, listed, err = env.dgas("signals", "--date", DAY, "--json")
        assert (code, err) == (0, "")
        assert [r["id"] for r in listed["signals"]] == ids
        assert {r["outcome"] for r in listed["signals"]} == {"PENDING"}
        assert {d["status"] for r in listed["signals"] for d in r["deliveries"]} == {"sent"}

        symbol = live["signal_details"][0]["symbol"]
        code, one, _ = env.dgas("signals", "--date", DAY, "--symbol", symbol, "--json")
        assert [r["symbol"] for r in one["signals"]] == [symbol]
        code, none, _ = env.dgas("signals", "--date", DAY, "--status", "win", "--json")
        assert (code, none["signals"]) == (0, [])
        code, other, _ = env.dgas("signals", "--date", "2026-11-26", "--json")  # Thanksgiving
        assert (code, other["signals"]) == (0, [])

        code, text, _ = env.dgas("signals", "--date", DAY)
        assert code == 0
        assert text.splitlines()[0] == f"signals ({len(ids)}, times ET):"
        assert "    console: sent " in text

        code, _, err = env.dgas("signals", "--status", "MAYBE")
    assert code == 2
    assert err.startswith("dgas: --status: 'MAYBE' is not an outcome (expected one of")


def test_backfill_wait_summarises_each_session(deployment: Deployment) -> None:
    env = deployment
    with time_machine.travel(et("2026-11-28 12:00"), tick=True):
        code, result, err = env.dgas(
            "backfill", "--start", "2026-11-25", "--end", DAY, "--wait", "--json"
        )
        assert (code, err) == (0, "")
        # Wednesday, Friday (early close: seven bars); Thanksgiving is no session.
        sessions = result["sessions"]
        assert [(s["session"], s["cycles"], s["cycles_failed"], s["eod"]) for s in sessions] == [
            ("2026-11-25", 13, 0, "SUCCESS"),
            (DAY, 7, 0, "SUCCESS"),
        ]
        for s in sessions:
            assert s["signals"] > 0
            assert sum(s["outcomes"].values()) == s["signals"]
            assert s["deliveries"] == {"stale": s["signals"]}  # one channel, all too late

        code, text, _ = env.dgas("backfill", "--start", DAY, "--end", DAY, "--wait")
    assert code == 0
    assert text.splitlines() == ["launched 0, already done 8"]  # nothing ran: no summary


# -- each delivery outcome as the delivery log records it ------------------------------------

CLOSED = et(f"{DAY} 11:30")
RUN = et(f"{DAY} 11:35")


@pytest.mark.parametrize(
    ("log", "run_started", "status", "detail"),
    [
        ({"status": "SENT", "sent_at": et(f"{DAY} 11:35:02")}, RUN, "sent",
         "sent 2026-11-27T16:35:02Z"),
        ({"status": "SENT", "sent_at": et(f"{DAY} 11:31")}, RUN, "already_sent",
         "already sent 2026-11-27T16:31:00Z"),
        ({"status": "STALE"}, et("2026-11-28 13:30"), "stale",
         "stale: bar closed 1 d 2 h ago, stored not sent"),
        ({"status": "STALE"}, et(f"{DAY} 14:35"), "stale",
         "stale: bar closed 3 h 5 min ago, stored not sent"),
        ({"status": "STALE"}, None, "stale", "stale: too late to notify, stored not sent"),
        ({"status": "FAILED", "last_error": "failed after 4 attempt(s): HTTP 503"}, RUN,
         "failed", "failed: failed after 4 attempt(s): HTTP 503"),
        ({"status": "PENDING"}, RUN, "pending", "pending: claimed, no outcome recorded"),
    ],
)  # fmt: skip
def test_each_delivery_outcome_reads_back_as_the_log_recorded_it(
    log: dict[str, Any], run_started: datetime | None, status: str, detail: str
) -> None:
    outcome = delivery_outcome({"channel": "hook", **log}, CLOSED, run_started)
    assert (outcome["channel"], outcome["status"], outcome["detail"]) == ("hook", status, detail)
