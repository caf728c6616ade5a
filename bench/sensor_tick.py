"""Sensor tick benchmark: `python bench/sensor_tick.py [--ticks N]` prints one JSON line.

A temp instance gets a year of history (a materialisation of every cycle bar and EOD of the
year before the instant, the records the catch-up path reads), then `market_clock_sensor` is
evaluated at fixed instants: live ticks inside a session, idle ticks on a holiday, and
catch-up ticks after a three-day outage. Figures are per-tick latencies in ms (p50, p95).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import time_machine

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ticks", type=int, default=50)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    home = tempfile.mkdtemp(prefix="dgas-bench-")
    os.environ["DAGSTER_HOME"] = home
    (Path(home) / "dagster.yaml").write_text((REPO / "dgas_pipeline" / "dagster.yaml").read_text())
    sys.path.insert(0, str(REPO))
    from dgas_pipeline.defs import build_definitions
    from dgas_pipeline.location import current_location
    from dgas_pipeline.market import plan_launches

    location = current_location()
    defs = build_definitions(location)
    market_clock_sensor = defs.resolve_sensor_def("market_clock_sensor")
    instance = dg.DagsterInstance.get()
    year = plan_launches(
        location.market, date(2025, 11, 20), date(2026, 11, 19), location.config.plan_settings
    )
    started = time.perf_counter()
    for launch in year:
        asset = "notifications" if launch.kind == "cycle" else "eod_consolidation"
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=asset, partition=launch.partition_key)
        )
    seed_s = time.perf_counter() - started

    def tick_ms(at: str, cursor: str) -> float:
        with time_machine.travel(datetime.fromisoformat(at), tick=False):
            context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
            began = time.perf_counter()
            market_clock_sensor(context)
            return (time.perf_counter() - began) * 1000

    cases = {
        "live": ("2026-11-20T11:00:05-05:00", "2026-11-20T10:59:35-05:00"),
        "idle_holiday": ("2026-11-26T11:00:05-05:00", "2026-11-26T10:59:35-05:00"),
        "catchup_3_days": (
            "2026-11-20T10:00:05-05:00",
            (datetime.fromisoformat("2026-11-20T10:00:05-05:00") - timedelta(days=3)).isoformat(),
        ),
    }
    result: dict[str, object] = {"history_launches": len(year), "seed_s": round(seed_s, 1)}
    for name, (at, cursor) in cases.items():
        tick_ms(at, cursor)  # warm caches (calendar, partitions), as a running daemon has them
        times = sorted(tick_ms(at, cursor) for _ in range(args.ticks))
        result[f"{name}_p50_ms"] = round(statistics.median(times), 2)
        result[f"{name}_p95_ms"] = round(times[int(0.95 * (len(times) - 1))], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
