"""`dgas status`: the scheduler state, the next planned launch, late launches, the last runs.

Without a daemon nobody else notices a run whose worker was killed or a run that failed
without its hook: status reconciles those first, then reads the mirror.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dgas_pipeline import clock
from dgas_pipeline.cycle.services import CycleServices
from dgas_pipeline.defs.automation.lateness import late_launches
from dgas_pipeline.defs.automation.reconcile import reconcile_dead_workers, reconcile_finished_runs
from dgas_pipeline.market import next_launch
from dgas_pipeline.operate.instance import load_code_location
from dgas_pipeline.store import repositories as repo


def status() -> dict[str, Any]:
    location, _, instance = load_code_location()
    services = CycleServices(location)
    with instance:
        # Without a daemon nobody else notices a run whose worker was killed: fail it first,
        # then mirror it with every other failed run.
        dead = reconcile_dead_workers(services, instance)
        finished = reconcile_finished_runs(services, instance)
        # What the lateness sensor fails as `on_time` checks, at this instant.
        late = late_launches(location, instance, clock.now())
    upcoming = next_launch(location.market, clock.now(), location.config.plan_settings)
    with services.engine().connect() as conn:
        state = repo.get_scheduler_state(conn) or {"status": "IDLE"}
        runs = repo.recent_runs(conn, limit=10)
    return {
        "scheduler_state": _plain(state),
        "next_launch": upcoming.to_json() if upcoming else None,
        "late": late,
        "recent_runs": [_plain(r) for r in runs],
        "reconciled": dead + finished.mirrored,
        "dead_workers": dead,
        # Runs in the instance the mirror cannot map (a key the current config does not
        # have, odd tags): listed, never fatal.
        "skipped_runs": [
            {"run_id": s.run_id, "job": s.job_name, "reason": s.reason} for s in finished.skipped
        ],
    }


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.astimezone(UTC).isoformat().replace("+00:00", "Z") if isinstance(v, datetime) else v)
        for k, v in row.items()
    }


MAX_LATE_SHOWN = 5


def render_late(late: list[dict[str, Any]]) -> list[str]:
    """A line per late launch (the newest few), as the `on_time` checks word them; nothing
    when none is late."""
    if not late:
        return []
    lines = [f"{'late':<12}{len(late)} launch{'es' if len(late) != 1 else ''} past due + grace"]
    lines += [
        f"{'':<12}{x['kind']} {x['partition_key']}: {x['reason']} ({x['asset']} on_time failed)"
        for x in late[:MAX_LATE_SHOWN]
    ]
    if len(late) > MAX_LATE_SHOWN:
        lines.append(f"{'':<12}... and {len(late) - MAX_LATE_SHOWN} older (--json lists all)")
    return lines
