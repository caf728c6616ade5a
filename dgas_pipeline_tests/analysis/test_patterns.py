"""Each Drummond pattern on a small series built to show it, and the event listing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dgas_pipeline.analysis import DrummondParameters, compute_indicators, pattern_events
from dgas_pipeline.analysis.patterns import PATTERN_COLUMNS
from dgas_pipeline_tests.analysis.synthetic import bars_from_closes


def test_pldot_push_needs_three_closes_on_the_side_the_pldot_slopes_to():
    out = compute_indicators(bars_from_closes([10, 11, 12, 13, 14, 15, 16]))
    assert out["pldot_push"].tolist() == [0, 0, 0, 0, 0, 1, 1]
    down = compute_indicators(bars_from_closes([16, 15, 14, 13, 12, 11, 10]))
    assert down["pldot_push"].tolist() == [0, 0, 0, 0, 0, -1, -1]


def test_pldot_refresh_is_a_touch_of_the_pldot_soon_after_a_push():
    out = compute_indicators(bars_from_closes([10, 11, 12, 13, 14, 15, 14.2], spread=0.5))
    assert out["pldot_push"].iloc[5] == 1
    assert out["pldot_refresh"].tolist() == [0, 0, 0, 0, 0, 0, 1]


def test_exhaust_is_a_close_back_inside_after_a_close_outside_the_envelope():
    out = compute_indicators(bars_from_closes([10, 11, 12, 13, 14, 20, 15]))
    assert out["close"].iloc[5] > out["env_upper"].iloc[5]
    assert out["exhaust"].tolist() == [0, 0, 0, 0, 0, 0, -1]


def test_c_wave_is_three_accelerating_closes_with_the_envelope_widening():
    out = compute_indicators(bars_from_closes([10, 10, 10, 11, 13, 16, 20, 25]))
    assert out["c_wave"].tolist() == [0, 0, 0, 0, 0, 0, 0, 1]


def test_congestion_oscillation_points_back_to_the_middle_of_the_envelope():
    params = DrummondParameters(envelope_method="percentage", envelope_percent=0.05)
    out = compute_indicators(bars_from_closes([10, 11, 10, 11, 10, 11, 10, 11]), params)
    assert out["congestion_oscillation"].tolist() == [0, 0, 0, 0, 0, -1, 1, -1]


def _zone_bars(last: tuple[float, float, float]) -> pd.DataFrame:
    """Four bars whose support lines all sit at 10 and resistance lines at 11, then `last`."""
    bars = bars_from_closes([10.5] * 4 + [last[2]])
    bars["high"] = [11.0] * 4 + [last[0]]
    bars["low"] = [10.0] * 4 + [last[1]]
    return bars


def test_termination_touch_when_the_bar_reaches_a_zone_known_a_bar_earlier():
    out = compute_indicators(_zone_bars((10.5, 9.9, 10.2)))
    assert out["termination_touch"].tolist() == [0, 0, 0, 0, 1]
    at_resistance = compute_indicators(_zone_bars((11.05, 10.6, 10.9)))
    assert at_resistance["termination_touch"].iloc[-1] == -1


def test_termination_approach_when_the_close_is_near_a_zone_it_does_not_touch():
    out = compute_indicators(_zone_bars((10.3, 10.03, 10.04)))
    assert out["termination_touch"].iloc[-1] == 0
    assert out["termination_approach"].iloc[-1] == 1


def test_pattern_events_list_every_non_zero_pattern_cell():
    closes = 100 + np.cumsum(np.random.default_rng(2).standard_normal(200))
    out = compute_indicators(bars_from_closes(closes, spread=0.5))
    events = pattern_events(out)
    cells = sum(int((out[c] != 0).sum()) for c in PATTERN_COLUMNS.values())
    assert len(events) == cells
    assert set(events["direction"]) <= {-1, 1}
    assert set(events["pattern"]) <= set(PATTERN_COLUMNS)


def test_patterns_are_the_same_when_prices_are_a_thousand_times_larger():
    closes = 50 + np.cumsum(np.random.default_rng(11).standard_normal(300))
    small = compute_indicators(bars_from_closes(closes, spread=0.3))
    large = compute_indicators(bars_from_closes(closes * 1000, spread=300))
    columns = list(PATTERN_COLUMNS.values())
    assert (small[columns] != 0).to_numpy().sum() > 100
    pd.testing.assert_frame_equal(small[columns], large[columns])
