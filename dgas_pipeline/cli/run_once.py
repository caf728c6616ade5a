"""`dgas run-once`: one cycle now (or of the bar due by `--at`) on the Dagster instance."""

from __future__ import annotations

import argparse
import functools
from datetime import datetime
from typing import Any

from dgas_pipeline import clock
from dgas_pipeline.cli.environment import check_files_of, use_config_file
from dgas_pipeline.cli.output import iso, progress_note
from dgas_pipeline.cli.values import parse_instant, partitions_covered
from dgas_pipeline.config import SchedulerConfig, load_config
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.location import market_for
from dgas_pipeline.market import MarketHoursManager, plan_launches
from dgas_pipeline.market.bars import Bar, cycle_bar_due_by
from dgas_pipeline.market.zones import local_time
from dgas_pipeline.tickers import check_tickers


def cmd_run_once(args: argparse.Namespace) -> dict[str, Any]:
    use_config_file(args.config)
    # Bad config is bad input here, not a failed run.
    config = check_files_of(load_config(args.config))
    market = market_for(config, None)
    now = clock.now()
    at = parse_instant(args.at, "--at") if args.at is not None else now
    if at > now:
        raise InvalidInput("--at", args.at, "is in the future (expected a past instant)")
    bar = bar_due_by(at, args.at if args.at is not None else f"now ({iso(now)})", config, market)
    symbols = None
    if args.symbols is not None:
        symbols = list(check_tickers(args.symbols.split(","), "symbols"))
        if len(symbols) > config.max_symbols_per_cycle:
            raise InvalidInput(
                "--symbols",
                f"{len(symbols)} tickers",
                f"exceed max_symbols_per_cycle ({config.max_symbols_per_cycle}): "
                "run them in several cycles, or raise the limit in the config",
            )
    from dgas_pipeline.operate.run_once import run_once

    args.render = functools.partial(render_run, tz_name=market.tz.key)
    with progress_note(f"run-once: running the cycle of the bar closed by {local_time(iso(at))}"):
        return run_once(bar, symbols)


def bar_due_by(
    at: datetime, typed: str, config: SchedulerConfig, market: MarketHoursManager
) -> Bar:
    """The bar `run-once` runs at `at` (`typed` is the flag as given): the newest due by
    then. It must be a partition (from partitions_start on), or Dagster would refuse the key
    after the run was created."""
    plan = config.plan_settings
    sessions = market.sessions_between(config.partitions_start, market.last_day)
    first = plan_launches(market, sessions[0].date, sessions[0].date, plan)[0] if sessions else None
    if first is None or at < first.due:
        when = f"bar {first.partition_key}, due {iso(first.due)}" if first else "there is none"
        raise InvalidInput(
            "--at",
            typed,
            f"is before the first partition: {when} "
            f"(partitions cover {partitions_covered(config, market)})",
        )
    try:
        return cycle_bar_due_by(market, at, plan)
    except InvalidInput as err:  # no bar in the two weeks before: a long closure
        raise InvalidInput("--at", typed, err.expected) from None


def render_run(result: dict[str, Any], tz_name: str = "America/New_York") -> str:
    timings = ", ".join(f"{k} {v}" for k, v in result["timings_ms"].items() if v is not None)
    lines = [
        f"{result['status']}: cycle {result['partition_key']} (run {result['run_id']})",
        f"symbols {result['symbols_processed']}/{result['symbols_requested']}, "
        f"signals {result['signals']}; {timings}",
    ]
    lines.extend(f"error: {e}" for e in result["errors"])
    # The cycle's signals and their deliveries, read back from the delivery log.
    from dgas_pipeline.operate.signals_report import render_signals

    lines += ["", *render_signals(result.get("signal_details", []), tz_name)]
    return "\n".join(lines)
