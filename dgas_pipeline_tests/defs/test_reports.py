"""The weekly calibration report asset on a real instance and database (SQLite, PostgreSQL).

Outcomes are written straight into `generated_signals` (as EOD leaves them: a verdict and
`evaluated_at` = the close of the session that judged it), so the numbers are known by hand:
the set of `analysis/test_calibration_report.py`, judged during Thanksgiving week 2026
(sessions Mon 23, Tue 24, Wed 25, Fri 27 closing 13:00 ET = 18:00Z), plus verdicts just
outside it that must not count.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import time_machine
from PIL import Image

from dgas_pipeline.defs.partitions import week_partitions
from dgas_pipeline.market import MarketHoursManager
from dgas_pipeline.market.overrides import CalendarOverrides, Closure
from dgas_pipeline.market.weeks import week_sessions
from dgas_pipeline.store import repositories as repo
from dgas_pipeline.store.engine import write_transaction
from dgas_pipeline.store.schema import ensure_schema
from dgas_pipeline_tests.analysis.test_calibration_report import EXPECTED_ROWS, OUTCOMES
from dgas_pipeline_tests.defs.conftest import QUIET, CycleEnv
from dgas_pipeline_tests.store.rows import signal_row

REPORT_RUNS_AT = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)  # Fri 2026-11-27 19:00 ET
WEEK = "2026-11-23"
CLOSES = [  # the sessions of the week: Thanksgiving (26th) is closed, the 27th closes early
    datetime(2026, 11, 23, 21, 0, tzinfo=UTC),
    datetime(2026, 11, 24, 21, 0, tzinfo=UTC),
    datetime(2026, 11, 25, 21, 0, tzinfo=UTC),
    datetime(2026, 11, 27, 18, 0, tzinfo=UTC),
]
OUTSIDE = [  # judged at the close before the week and at the first close after it
    datetime(2026, 11, 20, 21, 0, tzinfo=UTC),
    datetime(2026, 11, 30, 21, 0, tzinfo=UTC),
]


def store_outcomes(env: CycleEnv, judged: list[tuple[float, str, datetime]]) -> None:
    """Signals with these (confidence, outcome, evaluated_at); PENDING ones stay unjudged."""
    ensure_schema(env.db_url)
    with write_transaction(env.engine) as conn:
        for i, (confidence, outcome, at) in enumerate(judged):
            stamp = at - timedelta(days=1, minutes=30 * (i % 10))
            (signal_id,) = repo.upsert_signals(
                conn,
                [signal_row(symbol=f"S{i:02d}", signal_timestamp=stamp, confidence=confidence)],
            )
            if outcome != "PENDING":
                repo.update_outcomes(
                    conn,
                    [{"id": signal_id, "outcome": outcome, "evaluated_at": at, "pnl_pct": 1.0}],
                )


def materialize(env: CycleEnv, week: str) -> dict[str, Any]:
    assert env.defs is not None
    job = env.defs.resolve_job_def("calibration_report_job")
    with time_machine.travel(REPORT_RUNS_AT, tick=True):
        result = job.execute_in_process(partition_key=week, instance=env.instance, run_config=QUIET)
    assert result.success
    (event,) = result.asset_materializations_for_node("calibration_report")
    assert event.partition == week
    return {name: value.value for name, value in event.metadata.items()}


def test_the_week_report_counts_the_verdicts_of_its_sessions_only(cycle_env: CycleEnv) -> None:
    inside = [(c, o, CLOSES[i % len(CLOSES)]) for i, (c, o) in enumerate(OUTCOMES)]
    outside = [(0.75, "WIN", OUTSIDE[0]), (0.78, "WIN", OUTSIDE[1])]  # would fill 0.7-0.8
    store_outcomes(cycle_env, inside + outside)

    metadata = materialize(cycle_env, WEEK)

    assert (metadata["evaluated_signals"], metadata["in_buckets"], metadata["wins"]) == (12, 11, 7)
    assert metadata["win_rate"] == 7 / 12
    assert metadata["sessions"] == 4
    table = metadata["calibration"].splitlines()
    assert table[0] == "**Calibration, week of 2026-11-23 (Mon 23, Tue 24, Wed 25, Fri 27)**"
    assert table[-len(EXPECTED_ROWS) :] == EXPECTED_ROWS
    plot = metadata["calibration_plot"]
    assert "![calibration plot](data:image/png;base64," in plot

    written = metadata["report_file"]
    assert written.endswith(f"reports/calibration/{WEEK}.md")
    text = Path(written).read_text(encoding="utf-8")
    assert EXPECTED_ROWS[3] in text and f"![calibration plot]({WEEK}.png)" in text
    png = Path(written).with_suffix(".png").read_bytes()
    image = Image.open(io.BytesIO(png))
    image.verify()
    assert image.format == "PNG"


def test_a_week_without_verdicts_is_a_no_evaluated_signals_report(cycle_env: CycleEnv) -> None:
    store_outcomes(cycle_env, [(0.8, "WIN", OUTSIDE[1]), (0.7, "PENDING", CLOSES[0])])

    metadata = materialize(cycle_env, "2026-11-16")

    assert (metadata["evaluated_signals"], metadata["in_buckets"], metadata["wins"]) == (0, 0, 0)
    assert "win_rate" not in metadata
    assert metadata["calibration"] == (
        "**Calibration, week of 2026-11-16 (Mon 16, Tue 17, Wed 18, Thu 19, Fri 20)**\n\n"
        "No evaluated signals in this period."
    )
    assert "data:image/png;base64," in metadata["calibration_plot"]


def test_a_week_closed_all_through_is_no_partition() -> None:
    blackout = CalendarOverrides(
        closures=tuple(
            Closure(date=date(2026, 12, 7) + timedelta(days=d), reason="Blackout") for d in range(5)
        )
    )
    partitions = week_partitions(MarketHoursManager("XNYS", blackout), date(2026, 11, 4))
    with time_machine.travel(datetime(2026, 12, 20, tzinfo=UTC)):
        keys = partitions.get_partition_keys()
    # From the week holding the start (a Wednesday) to the running week (end_offset=1).
    assert keys == [
        "2026-11-02",
        "2026-11-09",
        "2026-11-16",
        "2026-11-23",
        "2026-11-30",
        "2026-12-14",
    ]
    window = partitions.time_window_for_partition_key(WEEK)
    assert (window.start.date(), window.end.date()) == (date(2026, 11, 23), date(2026, 11, 30))
    # Thanksgiving week (a holiday and an early close) is a partition like any other.
    assert [s.date.day for s in week_sessions(MarketHoursManager(), date(2026, 11, 23))] == [
        23,
        24,
        25,
        27,
    ]
