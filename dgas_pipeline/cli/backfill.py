"""`dgas backfill`: a date range's planned cycles and EODs not yet done, by the daemon or here."""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Final

from dgas_pipeline.cli.environment import check_files_of, use_config_file
from dgas_pipeline.cli.output import progress_note
from dgas_pipeline.cli.values import check_order, parse_partition_date
from dgas_pipeline.config import load_config
from dgas_pipeline.location import market_for

if TYPE_CHECKING:
    from dgas_pipeline.market.sessions import MarketHoursManager

MAX_CLOSED_DAYS_SHOWN: Final = 5


def cmd_backfill(args: argparse.Namespace) -> dict[str, Any]:
    use_config_file(args.config)
    config = check_files_of(load_config(args.config))
    market = market_for(config, None)
    start = parse_partition_date(args.start, "--start", config, market)
    end = parse_partition_date(args.end, "--end", config, market)
    check_order(start, end)
    from dgas_pipeline.operate.backfill import backfill

    # Loading the code location and planning take seconds; `--wait` then draws its own bar.
    with progress_note(f"backfill: planning {start} .. {end}"):
        result = backfill(start, end, args.wait)
    if result.get("runs"):  # `--wait`: what each session's runs found
        from dgas_pipeline.location import current_location
        from dgas_pipeline.operate.backfill_report import session_summaries

        result["sessions"] = session_summaries(current_location().engine(), result["runs"])
    if not result["launched"] and not result["skipped_done"]:
        result["nothing_planned"] = nothing_planned_because(market, start, end)
    return result


def nothing_planned_because(market: MarketHoursManager, start: date, end: date) -> str:
    """Why a range planned nothing, so "launched 0" after naming a holiday or a day still to
    come reads as an answer, not as a fault. Past sessions of the range would have been
    planned (or found done), so a session here is one whose bars are not due yet."""
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    sessions = [day for day in days if market.session(day).is_trading_day]
    if sessions:
        return f"no bar of the range is due yet (its first session is {sessions[0]})"
    shown = [f"{day}: {market.session(day).reason}" for day in days[:MAX_CLOSED_DAYS_SHOWN]]
    more = len(days) - len(shown)
    return (
        "no session in the range (" + ", ".join(shown) + (f", {more} more days)" if more else ")")
    )


def render_backfill(result: dict[str, Any]) -> str:
    line = f"launched {result['launched']}, already done {result['skipped_done']}"
    if result["backfill_id"]:
        line += f" (backfill {result['backfill_id']})"
    if "nothing_planned" in result:
        line += f"; {result['nothing_planned']}"
    if result.get("failed_runs"):
        line += f"; {result['failed_runs']} runs failed"
    from dgas_pipeline.operate.backfill_report import render_session_summaries

    return "\n".join([line, *render_session_summaries(result.get("sessions", []))])
