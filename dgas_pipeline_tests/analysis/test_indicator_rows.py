"""Indicators of chosen rows only: each row has the values it has in the whole frame.

A cycle keeps one row per symbol of thousands of bars and computes the costly termination
patterns for those rows only; this checks that shortcut never changes a value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from dgas_pipeline.analysis import compute_indicators, resample_bars
from dgas_pipeline_tests.analysis.strategies import bar_frames


@settings(max_examples=40, deadline=None)
@given(
    data=bar_frames(max_symbols=3, min_bars=1, max_bars=80),
    timeframe=st.sampled_from(["30min", "1h", "4h"]),
    picks=st.lists(st.floats(0.0, 1.0, exclude_max=True), max_size=12),
)
def test_the_indicators_of_chosen_rows_equal_those_rows_of_the_whole_frame(
    data: tuple[pd.DataFrame, list[int]], timeframe: str, picks: list[float]
) -> None:
    bars = resample_bars(data[0], timeframe)
    rows = np.array([int(p * len(bars)) for p in picks], dtype=np.int64)
    whole = compute_indicators(bars)
    chosen = compute_indicators(bars, rows=rows)
    pd.testing.assert_frame_equal(
        chosen.reset_index(drop=True), whole.iloc[rows].reset_index(drop=True)
    )


def test_rows_of_a_long_walk_match_the_whole_frame_termination_patterns_included(
    walk_bars: pd.DataFrame,
) -> None:
    bars = resample_bars(walk_bars, "30min").reset_index(drop=True)
    last = bars.groupby(bars["symbol"].astype(str), sort=False).tail(1).index.to_numpy()
    rows = np.concatenate([last, np.arange(0, len(bars), 7)])
    whole = compute_indicators(bars)
    chosen = compute_indicators(bars, rows=rows)
    pd.testing.assert_frame_equal(
        chosen.reset_index(drop=True), whole.iloc[rows].reset_index(drop=True)
    )
    for column in ("termination_touch", "termination_approach"):
        assert set(np.unique(chosen[column])) == {-1, 0, 1}, column
