"""`dgas backfill`: a date range's planned cycles and EODs not yet done, by the daemon or here."""

from __future__ import annotations

import argparse
from typing import Any

from dgas_pipeline.cli.environment import check_files_of, use_config_file
from dgas_pipeline.cli.output import progress_note
from dgas_pipeline.cli.values import check_order, parse_partition_date
from dgas_pipeline.config import load_config
from dgas_pipeline.location import market_for


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
    return result


def render_backfill(result: dict[str, Any]) -> str:
    line = f"launched {result['launched']}, already done {result['skipped_done']}"
    if result["backfill_id"]:
        line += f" (backfill {result['backfill_id']})"
    if result.get("failed_runs"):
        line += f"; {result['failed_runs']} runs failed"
    from dgas_pipeline.operate.backfill_report import render_session_summaries

    return "\n".join([line, *render_session_summaries(result.get("sessions", []))])
