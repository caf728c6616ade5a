"""Properties of every indicator column, checked on generated bar frames (hypothesis).

- no look-ahead: appending later bars never changes an earlier value;
- a symbol's values do not depend on the other symbols in the frame;
- NaN only during each symbol's warm-up, values in their documented ranges;
- resampling: the closed higher-timeframe bars of a prefix are those of the whole.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from dgas_pipeline.analysis import (
    INDICATOR_COLUMNS,
    DrummondParameters,
    closed_bars,
    compute_indicators,
    resample_bars,
)
from dgas_pipeline.analysis.parameters import ENVELOPE_METHODS
from dgas_pipeline.analysis.patterns import PATTERN_COLUMNS
from dgas_pipeline_tests.analysis.strategies import bar_frames, prefix_rows

FEW = settings(max_examples=40, deadline=None)


@FEW
@given(data=bar_frames(), cut=st.data(), method=st.sampled_from(ENVELOPE_METHODS))
def test_appending_later_bars_never_changes_any_earlier_indicator_value(data, cut, method):
    bars, lengths = data
    keep = [cut.draw(st.integers(0, n)) for n in lengths]
    params = DrummondParameters(envelope_method=method)
    full = compute_indicators(bars, params)
    rows = prefix_rows(lengths, keep)
    prefix = compute_indicators(bars.iloc[rows].reset_index(drop=True), params)
    expected = full.iloc[rows].reset_index(drop=True)
    pd.testing.assert_frame_equal(prefix, expected, check_categorical=False)


@FEW
@given(data=bar_frames(max_symbols=4))
def test_each_symbol_gets_the_values_it_would_get_alone(data):
    bars, _ = data
    together = compute_indicators(bars)
    for symbol, part in bars.groupby("symbol", sort=False):
        alone = compute_indicators(part.reset_index(drop=True))
        mine = together[together["symbol"] == symbol].reset_index(drop=True)
        pd.testing.assert_frame_equal(alone, mine)


@FEW
@given(data=bar_frames(max_symbols=3, min_bars=1, max_bars=12))
def test_nan_only_during_each_symbols_warm_up(data):
    bars, lengths = data
    out = compute_indicators(bars)
    pos = np.concatenate([np.arange(n) for n in lengths])
    warm_up = {
        "pldot": 2,
        "pldot_slope": 3,
        "env_upper": 4,
        "env_lower": 4,
        "position": 4,
        "support_line": 1,
        "resistance_line": 1,
        "state": 4,
        "state_confidence": 4,
        "trend_strength": 4,
    }
    for column, n in warm_up.items():
        assert (out[column].isna().to_numpy() == (pos < n)).all(), column


@FEW
@given(data=bar_frames())
def test_values_stay_in_their_documented_ranges(data):
    bars, _ = data
    out = compute_indicators(bars)
    for column in ("position", "state_confidence", "trend_strength"):
        values = out[column].dropna()
        assert ((values >= 0) & (values <= 1)).all(), column
    for column in (*PATTERN_COLUMNS.values(), "pldot_trend", "direction", "side"):
        assert set(out[column].unique()) <= {-1, 0, 1}, column
    assert (out["bars_in_state"] >= 0).all()
    assert list(out.columns[-len(INDICATOR_COLUMNS) :]) == list(INDICATOR_COLUMNS)


@FEW
@given(data=bar_frames(max_bars=30), cut=st.data(), timeframe=st.sampled_from(["1h", "2h", "4h"]))
def test_closed_higher_bars_of_a_prefix_are_the_closed_bars_of_the_whole(data, cut, timeframe):
    bars, lengths = data
    cutoff = bars["ts"].iloc[0] + cut.draw(st.integers(0, max(lengths))) * pd.Timedelta("30min")
    whole = closed_bars(resample_bars(bars, timeframe), cutoff)
    prefix = closed_bars(resample_bars(bars[bars["ts"] < cutoff], timeframe), cutoff)
    as_text = {"symbol": str}  # categories differ when the prefix lost a whole symbol
    pd.testing.assert_frame_equal(prefix.astype(as_text), whole.astype(as_text))
