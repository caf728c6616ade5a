"""The EOD summary of a session with nothing to report still says so plainly."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd

from dgas_pipeline.analysis.session_report import session_report


def test_a_quiet_session_has_zero_counts_no_win_rate_and_says_why_there_is_no_table() -> None:
    report = session_report(
        pd.DataFrame(),
        pd.DataFrame(),
        day=date(2026, 7, 2),
        close=datetime(2026, 7, 2, 20, 0, tzinfo=UTC),
        early_close=False,
        reason=None,
        cycles=13,
        tz="America/New_York",
    )
    assert report.summary == {
        "date": date(2026, 7, 2),
        "cycles": 13,
        "signals": 0,
        "evaluated": 0,
        "wins": 0,
        "losses": 0,
        "neutrals": 0,
        "pending": 0,
        "by_type": {},
    }
    assert report.markdown.splitlines() == [
        "**End of day 2026-07-02**, close 16:00 EDT",
        "",
        "- cycles: 13",
        "- signals issued: 0",
        "- judged at this close: 0; win rate -",
        "- issued this session, still pending: 0",
        "",
        "No signal was issued or judged this session.",
    ]
