"""Report files and the weekly calibration report.

Reports land under `<reports dir>/<kind>/`, e.g.
`$DAGSTER_HOME/storage/reports/calibration/2026-11-23.md`, for people without the UI; the
Dagster layer names the directory (the instance's storage) and shows the same content as
metadata.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from dgas_pipeline.analysis.calibration_report import calibration_report as build_report
from dgas_pipeline.analysis.report_markdown import png_markdown
from dgas_pipeline.cycle.services import CycleServices
from dgas_pipeline.cycle.stage import Markdown
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market.weeks import week_sessions
from dgas_pipeline.store.period_signals import signals_evaluated_in


def calibration_report_of_week(
    services: CycleServices, monday: date, reports_dir: Path
) -> dict[str, Any]:
    """Predicted confidence against realised win rate per confidence bucket, of the signals
    judged during the week's sessions (each signal is judged once, so counted in one week);
    written to files and returned as metadata."""
    key = monday.isoformat()
    sessions = week_sessions(services.market, monday)
    if not sessions:
        raise InvalidInput("partition_key", key, "is a week without a session")
    with services.engine().connect() as conn:
        evaluated = pd.DataFrame(signals_evaluated_in(conn, sessions[0].open, sessions[-1].close))
    days = ", ".join(f"{s.date:%a %d}" for s in sessions)
    report = build_report(evaluated, f"Calibration, week of {key} ({days})")
    plot = png_markdown(report.png, "calibration plot")
    files = {
        f"{key}.md": report.markdown + f"\n\n![calibration plot]({key}.png)\n",
        f"{key}.png": report.png,
    }
    folder = write_report(reports_dir, "calibration", files)
    metadata: dict[str, Any] = {
        "evaluated_signals": report.evaluated,
        "in_buckets": report.bucketed,
        "wins": report.wins,
        "sessions": len(sessions),
        "calibration": Markdown(report.markdown),
        "calibration_plot": Markdown(f"**{report.title}**\n\n{plot}"),
        "report_file": folder / f"{key}.md",
    }
    if report.win_rate is not None:
        metadata["win_rate"] = report.win_rate
    return metadata


def write_report(reports_dir: Path, kind: str, files: dict[str, str | bytes]) -> Path:
    """Write report files under `<reports_dir>/<kind>/`, each atomically (a reader never sees
    half a file); returns the folder."""
    folder = reports_dir / kind
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        # A name of its own: two runs of one partition must not share a temporary file.
        temporary = path.with_name(f".{name}.{uuid.uuid4().hex}.tmp")
        if isinstance(content, bytes):
            temporary.write_bytes(content)
        else:
            temporary.write_text(content, encoding="utf-8")
        temporary.replace(path)
    return folder
