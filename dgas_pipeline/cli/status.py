"""`dgas status`: the scheduler's state, the next launch and the last runs."""

from __future__ import annotations

import argparse
import functools
from typing import Any

from dgas_pipeline.cli.environment import use_config_file
from dgas_pipeline.config import load_config
from dgas_pipeline.location import market_for
from dgas_pipeline.market.zones import local_time, zone_label


def cmd_status(args: argparse.Namespace) -> dict[str, Any]:
    use_config_file(args.config)
    market = market_for(load_config(args.config), None)
    args.render = functools.partial(render_status, tz_name=market.tz.key)
    from dgas_pipeline.operate.status import status

    return status()


def render_status(result: dict[str, Any], tz_name: str = "America/New_York") -> str:
    """A few labelled lines and a table of the last runs, in the exchange's local time."""
    state = result["scheduler_state"]
    nxt = result["next_launch"]
    upcoming = (
        f"{local_time(nxt['due'], tz_name)}  {nxt['kind']} {nxt['partition_key']}"
        if nxt
        else "- (none planned in the calendar's range)"
    )
    since = f" since {local_time(state['updated_at'], tz_name)}" if state.get("updated_at") else ""
    lines = [f"{'scheduler':<12}{state.get('status')}{since}"]
    if state.get("error_message"):
        lines.append(f"{'error':<12}{state['error_message']}")
    lines += [
        f"{'last run':<12}{local_time(state.get('last_run_timestamp'), tz_name)}",
        f"{'next launch':<12}{upcoming}",
    ]
    from dgas_pipeline.operate.status import render_late  # launches past due + grace

    lines += render_late(result.get("late", []))
    if result.get("reconciled"):
        lines.append(f"{'reconciled':<12}{result['reconciled']} finished run(s) mirrored just now")
    for skipped in result.get("skipped_runs", []):
        lines.append(
            f"{'not mirrored':<12} run {skipped['run_id']} ({skipped['job']}): {skipped['reason']}"
        )
    runs = result["recent_runs"]
    if not runs:
        return "\n".join([*lines, "", "no runs yet"])
    lines += [
        "",
        f"last {len(runs)} run{'s' if len(runs) != 1 else ''} (times {zone_label(tz_name)}):",
        f"{'launched':<16} {'partition':<17} {'kind':<5} {'status':<8} {'by':<9} "
        f"{'duration':>8} {'signals':>7}",
    ]
    for run in runs:
        lines.append(
            f"{local_time(run.get('run_timestamp'), tz_name, '%a %m-%d %H:%M'):<16} "
            f"{_cell(run.get('partition_key')):<17} {_cell(run.get('kind')):<5} "
            f"{_cell(run.get('status')):<8} {_cell(run.get('launched_by')):<9} "
            f"{duration(run.get('execution_time_ms')):>8} {_cell(run.get('signals_generated')):>7}"
        )
    return "\n".join(lines)


def _cell(value: object) -> str:
    """A table cell: a missing value shows as '-', never as a formatting error."""
    return "-" if value is None else str(value)


def duration(ms: int | None) -> str:
    """`850ms`, `12.3s`, `2m05s`, `1h02m`: short enough for a table column."""
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{ms}ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
