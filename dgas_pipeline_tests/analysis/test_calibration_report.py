"""The calibration report against a small set of outcomes counted by hand.

Buckets are [0.5, 0.6), [0.6, 0.7), ... [0.9, 1.0] (1.0 included in the last). The set:
- 0.5-0.6: 0.52 WIN, 0.58 LOSS -> 2 signals, 1 win, mean confidence 0.55, win rate 50 %
- 0.6-0.7: 0.62 WIN, 0.64 WIN, 0.66 NEUTRAL, 0.68 LOSS -> 4, 2 wins, mean 0.65, 50 %
- 0.7-0.8: nothing decided (a PENDING 0.75 is left out)
- 0.8-0.9: 0.82 LOSS, 0.84 WIN, 0.86 WIN, 0.88 WIN -> 4, 3 wins, mean 0.85, 75 %
- 0.9-1.0: 1.0 WIN -> 1, 1 win, 100 %
- 0.45 LOSS: decided, below the first bucket.
So 12 evaluated (11 in buckets), 7 wins.
"""

from __future__ import annotations

import io

import pandas as pd
from PIL import Image

from dgas_pipeline.analysis.calibration_report import calibration_report

OUTCOMES = [
    (0.52, "WIN"),
    (0.58, "LOSS"),
    (0.62, "WIN"),
    (0.64, "WIN"),
    (0.66, "NEUTRAL"),
    (0.68, "LOSS"),
    (0.75, "PENDING"),
    (0.82, "LOSS"),
    (0.84, "WIN"),
    (0.86, "WIN"),
    (0.88, "WIN"),
    (1.0, "WIN"),
    (0.45, "LOSS"),
]
EXPECTED_ROWS = [
    "| 0.5-0.6 | 2 | 1 | 1 | 0 | 0.55 | 50% | -5% |",
    "| 0.6-0.7 | 4 | 2 | 1 | 1 | 0.65 | 50% | -15% |",
    "| 0.7-0.8 | 0 | 0 | 0 | 0 | - | - | - |",
    "| 0.8-0.9 | 4 | 3 | 1 | 0 | 0.85 | 75% | -10% |",
    "| 0.9-1.0 | 1 | 1 | 0 | 0 | 1.00 | 100% | +0% |",
]


def frame(rows: list[tuple[float, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["confidence", "outcome"])


def test_buckets_hold_the_hand_counted_signals_and_win_rates() -> None:
    report = calibration_report(frame(OUTCOMES), "week of 2026-11-23")
    table = report.table.set_index("bucket")
    assert table["signals"].to_dict() == {
        "0.5-0.6": 2,
        "0.6-0.7": 4,
        "0.7-0.8": 0,
        "0.8-0.9": 4,
        "0.9-1.0": 1,
    }
    assert table.loc["0.6-0.7", ["wins", "losses", "neutrals"]].tolist() == [2, 1, 1]
    assert table.loc["0.8-0.9", "win_rate"] == 0.75
    assert round(table.loc["0.8-0.9", "mean_confidence"], 10) == 0.85
    assert (report.evaluated, report.bucketed, report.wins) == (12, 11, 7)
    assert report.win_rate == 7 / 12


def test_markdown_has_one_row_per_bucket_and_says_what_is_left_out() -> None:
    report = calibration_report(frame(OUTCOMES), "week of 2026-11-23")
    lines = report.markdown.splitlines()
    assert lines[0] == "**week of 2026-11-23**"
    assert lines[2] == (
        "12 evaluated signals, 7 wins (58%); 1 below confidence 0.5 are in no bucket."
    )
    header = lines.index(
        "| confidence | signals | wins | losses | neutral | mean confidence | win rate "
        "| win rate - confidence |"
    )
    assert lines[header + 1] == "|---|---|---|---|---|---|---|---|"
    assert lines[header + 2 :] == EXPECTED_ROWS


def test_the_plot_is_a_png_of_the_report() -> None:
    png = calibration_report(frame(OUTCOMES), "week of 2026-11-23").png
    image = Image.open(io.BytesIO(png))
    image.verify()  # a truncated or corrupt PNG raises here
    assert (image.format, image.size) == ("PNG", (700, 550))


def test_no_evaluated_signals_is_a_report_that_says_so() -> None:
    for given in (pd.DataFrame(), frame([(0.7, "PENDING")])):
        report = calibration_report(given, "week of 2026-11-16")
        assert report.markdown == "**week of 2026-11-16**\n\nNo evaluated signals in this period."
        assert (report.evaluated, report.bucketed, report.wins, report.win_rate) == (0, 0, 0, None)
        assert report.table["signals"].sum() == 0
        image = Image.open(io.BytesIO(report.png))
        assert image.format == "PNG"
    full = calibration_report(frame(OUTCOMES), "week of 2026-11-16").png
    assert full != report.png
