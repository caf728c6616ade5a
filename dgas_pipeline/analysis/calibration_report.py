"""The calibration report: does a 0.8-confidence signal win 80 % of the time?

Per confidence bucket (`outcomes.calibration`), the mean predicted confidence against the
realised win rate, with how many signals each bucket holds, as a Markdown table and a PNG.
A bucket of three signals proves little, so counts are on the plot, not only in the table.
Drawn like the signal chart: a bare matplotlib `Figure` on the Agg canvas, no pyplot state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dgas_pipeline.analysis.outcomes import CALIBRATION_EDGES, LOSS, NEUTRAL, WIN, calibration
from dgas_pipeline.analysis.report_markdown import markdown_table, number, percent

NO_SIGNALS = "No evaluated signals"
DECIDED = (WIN, LOSS, NEUTRAL)
BAR_COLOUR, POINT_COLOUR, DIAGONAL_COLOUR = "#90caf9", "#1565c0", "#616161"


@dataclass(frozen=True)
class CalibrationReport:
    """One period's calibration: the bucket table, its Markdown and its plot."""

    title: str
    table: pd.DataFrame  # `outcomes.calibration` columns, one row per bucket
    evaluated: int  # decided signals given, in a bucket or not
    bucketed: int  # of those, in a confidence bucket
    wins: int  # of the evaluated
    markdown: str
    png: bytes

    @property
    def win_rate(self) -> float | None:
        return self.wins / self.evaluated if self.evaluated else None


def calibration_report(
    evaluated: pd.DataFrame, title: str, edges: tuple[float, ...] = CALIBRATION_EDGES
) -> CalibrationReport:
    """The report of `evaluated` (confidence and outcome of decided signals; may be empty).

    An empty period is a report that says so, not an error: a quiet week is a fact too.
    """
    frame = (
        evaluated
        if len(evaluated)
        else pd.DataFrame({"confidence": pd.Series(dtype=float), "outcome": pd.Series(dtype=str)})
    )
    table = calibration(frame, edges)
    bucketed = int(table["signals"].sum())
    decided = int(frame["outcome"].isin(DECIDED).sum())
    wins = int((frame["outcome"] == WIN).sum())
    summary = _summary_line(decided, bucketed, wins, edges)
    markdown = f"**{title}**\n\n{summary}"
    if bucketed:
        markdown += "\n\n" + calibration_markdown(table)
    png = calibration_png(table, title, summary)
    return CalibrationReport(title, table, decided, bucketed, wins, markdown, png)


def calibration_markdown(table: pd.DataFrame) -> str:
    """The bucket table people read: predicted (mean confidence) next to realised (win rate)."""
    headers = (
        "confidence",
        "signals",
        "wins",
        "losses",
        "neutral",
        "mean confidence",
        "win rate",
        "win rate - confidence",
    )
    rows = []
    for row in table.to_dict("records"):
        gap = row["win_rate"] - row["mean_confidence"] if row["signals"] else float("nan")
        rows.append(
            (
                str(row["bucket"]),
                str(int(row["signals"])),
                str(int(row["wins"])),
                str(int(row.get("losses", 0))),
                str(int(row.get("neutrals", 0))),
                number(row["mean_confidence"]),
                percent(row["win_rate"]),
                "-" if gap != gap else f"{gap:+.0%}",
            )
        )
    return markdown_table(headers, rows)


def calibration_png(table: pd.DataFrame, title: str, subtitle: str = "", dpi: int = 100) -> bytes:
    """Bars of the realised win rate per bucket, points at the bucket's mean confidence, the
    diagonal of perfect calibration, and `n=` over every bucket (0 where it is empty)."""
    # matplotlib only when a chart is drawn: the code location imports this module to build
    # its report asset, and every command and run worker would pay for it.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from dgas_pipeline.analysis.chart import finished_png

    fig = Figure(figsize=(7, 5.5), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    lower = table["lower"].to_numpy(np.float64)
    upper = table["upper"].to_numpy(np.float64)
    centre = (lower + upper) / 2
    count = table["signals"].to_numpy(np.int64)
    rate = table["win_rate"].to_numpy(np.float64)
    shown = np.nan_to_num(rate, nan=0.0)
    ax.bar(
        centre,
        shown,
        width=(upper - lower) * 0.9,
        color=BAR_COLOUR,
        edgecolor=POINT_COLOUR,
        label="realised win rate",
    )
    filled = count > 0
    ax.plot(
        table["mean_confidence"].to_numpy(np.float64)[filled],
        rate[filled],
        "o",
        color=POINT_COLOUR,
        label="at the mean confidence",
    )
    ax.plot([0, 1], [0, 1], "--", color=DIAGONAL_COLOUR, label="perfect calibration")
    for x, y, n in zip(centre, shown, count, strict=True):
        ax.annotate(
            f"n={n}", (x, y), xytext=(0, 4), textcoords="offset points", ha="center", fontsize=9
        )
    if not filled.any():
        ax.text(0.5, 0.5, NO_SIGNALS.lower(), transform=ax.transAxes, ha="center", fontsize=14)
    ax.set_xlim(lower.min() - 0.05, upper.max() + 0.05)
    ax.set_ylim(0, 1.08)
    ax.set_xlabel("predicted confidence")
    ax.set_ylabel("realised win rate")
    ax.set_title(f"{title}\n{subtitle}" if subtitle else title, fontsize=10)
    return finished_png(fig, ax, dpi)


def _summary_line(decided: int, bucketed: int, wins: int, edges: tuple[float, ...]) -> str:
    if not decided:
        return f"{NO_SIGNALS} in this period."
    line = f"{decided} evaluated signals, {wins} wins ({wins / decided:.0%})"
    left_out = decided - bucketed
    if left_out:
        line += f"; {left_out} below confidence {edges[0]:.1f} are in no bucket"
    return line + "."
