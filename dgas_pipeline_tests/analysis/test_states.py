"""The five market states, their direction and confidence, on hand-worked closes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dgas_pipeline.analysis import DrummondParameters, market_states
from dgas_pipeline.analysis.states import STATES
from dgas_pipeline_tests.analysis.synthetic import bars_from_closes

# With high = low = close the typical price is the close, so a close is above its PLdot
# exactly when it is above the mean of the two closes before it.
CLOSES = [10, 11, 12, 13, 14, 15, 14, 15, 14, 15, 16, 17, 18, 17, 16, 15, 14]
EXPECTED = [
    # (state, direction, bars_in_state)
    (None, 0, 0),
    (None, 0, 0),
    (None, 0, 0),
    (None, 0, 0),
    ("TREND", 1, 1),  # closes 12 13 14 all above their PLdot; no earlier run
    ("TREND", 1, 2),
    ("CONGESTION_ENTRANCE", 1, 1),  # 14 < PLdot 14.33: first close back across
    ("CONGESTION_ACTION", 0, 1),  # closes alternate: balance, no direction
    ("CONGESTION_ACTION", 0, 2),
    ("CONGESTION_ACTION", 0, 3),
    ("CONGESTION_ACTION", 0, 4),
    ("CONGESTION_EXIT", 1, 1),  # three closes above again, the way the last trend went
    ("TREND", 1, 1),
    ("CONGESTION_ENTRANCE", 1, 1),
    ("CONGESTION_ACTION", 0, 1),
    ("REVERSAL", -1, 1),  # three closes below after an up trend
    ("TREND", -1, 1),
]


def test_states_directions_and_durations_match_hand_worked_table():
    out = market_states(bars_from_closes(CLOSES))
    got = [
        (None if pd.isna(s) else s, int(d), int(b))
        for s, d, b in zip(out["state"], out["direction"], out["bars_in_state"], strict=True)
    ]
    assert got == EXPECTED


def test_every_one_of_the_five_states_occurs_in_the_table():
    assert {s for s, _, _ in EXPECTED if s} == set(STATES)


def test_state_confidence_matches_hand_computed_values():
    conf = market_states(bars_from_closes(CLOSES))["state_confidence"]
    assert conf.iloc[:4].isna().all()
    assert conf.iloc[4] == pytest.approx(0.55 + 0.20)  # TREND, PLdot rising with it
    assert conf.iloc[5] == pytest.approx(0.55 + 0.05 + 0.20)  # one bar longer
    assert conf.iloc[7] == pytest.approx(0.35)  # CONGESTION_ACTION, PLdot not flat
    assert conf.iloc[8] == pytest.approx(0.35 + 0.05)
    assert conf.iloc[15] == pytest.approx(0.50 + 0.20)  # REVERSAL, PLdot falling with it


def test_trend_strength_grows_in_a_trend_and_is_zero_without_direction():
    strength = market_states(bars_from_closes(CLOSES))["trend_strength"]
    assert strength.iloc[5] == pytest.approx(0.2 + 0.4 * 0.80 + 0.2)
    assert strength.iloc[7] == 0.0


def test_confidence_and_strength_stay_in_unit_interval():
    closes = 100 + np.cumsum(np.random.default_rng(5).standard_normal(400))
    out = market_states(bars_from_closes(closes, spread=0.3))
    for column in ("state_confidence", "trend_strength"):
        values = out[column].dropna()
        assert ((values >= 0) & (values <= 1)).all()


def test_state_parameters_change_the_confidence():
    params = DrummondParameters(confidence_trend=0.9, confidence_slope_agreement=0.0)
    conf = market_states(bars_from_closes(CLOSES), params)["state_confidence"]
    assert conf.iloc[4] == pytest.approx(0.9)


def test_states_are_the_same_when_prices_are_a_thousand_times_larger():
    closes = 50 + np.cumsum(np.random.default_rng(9).standard_normal(300))
    small = market_states(bars_from_closes(closes, spread=0.2))
    large = market_states(bars_from_closes(closes * 1000, spread=200))
    pd.testing.assert_series_equal(small["state"], large["state"])
    pd.testing.assert_series_equal(small["direction"], large["direction"])
