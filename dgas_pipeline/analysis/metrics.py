"""Daily operating metrics of the cycle: latency, throughput, errors, signals, win rate.

Computed from the run mirror and the day's evaluated signals, so an analyst's SQL over
`prediction_metrics` sees the same numbers the EOD summary reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dgas_pipeline.analysis.outcomes import calibration

STAGES = ("data_fetch_ms", "indicator_calc_ms", "signal_generation_ms", "notification_ms")
FINISHED = ("SUCCESS", "PARTIAL", "FAILED")


def period_metrics(
    runs: Sequence[Mapping[str, Any]], evaluated: pd.DataFrame
) -> list[tuple[str, float, dict[str, Any]]]:
    """(metric_type, value, metadata) rows for one period (an hour, a session, a week, a month).

    `runs`: the session's cycle mirror rows; `evaluated`: its signals with `outcome` and
    `confidence`. Latency percentiles are per stage over finished runs; error rate counts
    FAILED and PARTIAL runs; win rate is over decided signals (WIN + LOSS + NEUTRAL).
    """
    frame = pd.DataFrame(list(runs))
    finished = frame[frame["status"].isin(FINISHED)] if len(frame) else frame
    rows: list[tuple[str, float, dict[str, Any]]] = []
    for stage in (*STAGES, "execution_time_ms"):
        values = finished[stage].dropna().to_numpy(np.float64) if len(finished) else np.array([])
        for q in (50, 95, 99):
            if len(values):
                rows.append(
                    (f"{stage}_p{q}", float(np.percentile(values, q)), {"runs": len(values)})
                )
    if len(finished):
        seconds = finished["execution_time_ms"].sum() / 1000
        processed = float(finished["symbols_processed"].sum())
        rows.append(("symbols_per_second", float(processed / seconds) if seconds else 0.0, {}))
        bad = finished["status"].isin(("FAILED", "PARTIAL")).sum()
        rows.append(("error_rate", float(bad) / len(finished), {"runs": len(finished)}))
        rows.append(
            (
                "signals_per_cycle",
                float(finished["signals_generated"].mean()),
                {"runs": len(finished)},
            )
        )
    decided = (
        evaluated[evaluated["outcome"].isin(("WIN", "LOSS", "NEUTRAL"))]
        if len(evaluated)
        else evaluated
    )
    if len(decided):
        wins = int((decided["outcome"] == "WIN").sum())
        table = calibration(decided)
        rows.append(
            (
                "win_rate",
                wins / len(decided),
                {"signals": len(decided), "calibration": table.to_dict("records")},
            )
        )
    return rows
