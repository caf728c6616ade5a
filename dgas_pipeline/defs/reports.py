"""Reports as assets: the weekly calibration report, and where report files land.

Weeks are partitions so the UI shows which weeks have a report, and a missed or outdated one
is launched or backfilled like any asset partition. One partition per Monday-to-Sunday week
that holds a session, keyed by its Monday (`2026-11-23`, as the weekly roll-up's run key):
a calendar week is what people say ("the week of the 23rd") and its key does not move when a
holiday ends the week on Thursday. A week without a session (a whole week of closures in
the overrides file) is no partition at all, so it can be neither launched nor backfilled.

The Markdown and the PNG are also written under `<instance storage>/reports/<kind>/`, e.g.
`$DAGSTER_HOME/storage/reports/calibration/2026-11-23.md`, for people without the UI.
"""

import uuid
from datetime import date, datetime, time, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd

from dgas_pipeline.analysis.calibration_report import calibration_report as build_report
from dgas_pipeline.analysis.report_markdown import png_markdown
from dgas_pipeline.defs.location import current_location
from dgas_pipeline.defs.resources import PipelineResource
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market import MarketHoursManager, TradingSession
from dgas_pipeline.store.period_signals import signals_evaluated_in

WEEK_KEY_FORMAT = "%Y-%m-%d"
REPORT_GROUP = "reports"
CALIBRATION_JOB = "calibration_report_job"


def week_partitions(market: MarketHoursManager, start: date) -> dg.TimeWindowPartitionsDefinition:
    """One partition per week holding a session, from the week of `start`; key = its Monday.

    `end_offset=1`: the running week's key exists from its Monday, because the report runs
    on Friday evening, before the week's window ends.
    """
    first = start - timedelta(days=start.weekday())
    closed = [
        datetime.combine(monday, time(0), market.tz)
        for monday in _mondays(first, market.last_day)
        if not week_sessions(market, monday)
    ]
    return dg.TimeWindowPartitionsDefinition(
        start=datetime.combine(first, time(0), market.tz),
        fmt=WEEK_KEY_FORMAT,
        cron_schedule="0 0 * * 1",
        timezone=str(market.tz),
        end_offset=1,
        exclusions=closed,
    )


def week_sessions(market: MarketHoursManager, monday: date) -> list[TradingSession]:
    """The sessions of the Monday-to-Sunday week starting `monday` (within the calendar)."""
    last = min(monday + timedelta(days=6), market.last_day)
    first = max(monday, market.first_day)
    return market.sessions_between(first, last) if first <= last else []


def _mondays(first: date, last: date) -> list[date]:
    mondays = []
    while first <= last:
        mondays.append(first)
        first += timedelta(days=7)
    return mondays


_location = current_location()
WEEK_PARTITIONS = week_partitions(_location.market, _location.config.partitions_start)


@dg.asset(partitions_def=WEEK_PARTITIONS, group_name=REPORT_GROUP, kinds={"pandas"})
def calibration_report(
    context: dg.AssetExecutionContext, pipeline: PipelineResource
) -> dg.MaterializeResult:
    """Predicted confidence against realised win rate per confidence bucket, of the signals
    judged during the week's sessions (each signal is judged once, so counted in one week)."""
    market = pipeline.market()
    monday = date.fromisoformat(context.partition_key)
    sessions = week_sessions(market, monday)
    if not sessions:
        raise InvalidInput("partition_key", context.partition_key, "is a week without a session")
    start, end = sessions[0].open, sessions[-1].close
    with pipeline.engine().connect() as conn:
        evaluated = pd.DataFrame(signals_evaluated_in(conn, start, end))
    days = ", ".join(f"{s.date:%a %d}" for s in sessions)
    report = build_report(evaluated, f"Calibration, week of {monday.isoformat()} ({days})")
    plot = png_markdown(report.png, "calibration plot")
    folder = write_report(
        context.instance,
        "calibration",
        {
            f"{context.partition_key}.md": report.markdown
            + f"\n\n![calibration plot]({context.partition_key}.png)\n",
            f"{context.partition_key}.png": report.png,
        },
    )
    metadata: dict[str, object] = {
        "evaluated_signals": report.evaluated,
        "in_buckets": report.bucketed,
        "wins": report.wins,
        "sessions": len(sessions),
        "calibration": dg.MetadataValue.md(report.markdown),
        "calibration_plot": dg.MetadataValue.md(f"**{report.title}**\n\n{plot}"),
        "report_file": dg.MetadataValue.path(str(folder / f"{context.partition_key}.md")),
    }
    if report.win_rate is not None:
        metadata["win_rate"] = report.win_rate
    return dg.MaterializeResult(metadata=metadata)


calibration_report_job = dg.define_asset_job(
    CALIBRATION_JOB,
    selection=[calibration_report],
    partitions_def=WEEK_PARTITIONS,
    tags={"dgas/kind": "report"},
    executor_def=dg.in_process_executor,
)


def write_report(instance: dg.DagsterInstance, kind: str, files: dict[str, str | bytes]) -> Path:
    """Write report files under `<instance storage>/reports/<kind>/`, each atomically (a
    reader never sees half a file); returns the folder."""
    folder = Path(instance.storage_directory()) / "reports" / kind
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
