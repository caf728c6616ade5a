"""The cycle benchmark stays runnable and prints the one JSON line it promises."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "cycle.py"


def test_bench_cycle_prints_one_json_line_with_the_promised_keys():
    done = subprocess.run(
        [sys.executable, str(BENCH), "--symbols", "3", "--repeats", "1", "--sessions", "20"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    for key in ("symbols", "timeframes", "bars_per_symbol", "seconds_median", "peak_rss_mb"):
        assert key in report
    assert report["symbols"] == 3
    assert report["timeframes"] == ["4h", "1h", "30min"]
    assert report["signals"] >= 0
