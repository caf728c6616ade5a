"""Drummond lines and the zones where they agree."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dgas_pipeline.analysis import DrummondParameters, drummond_lines, drummond_zones
from dgas_pipeline_tests.analysis.synthetic import bars_from_closes


def test_lines_project_two_bars_one_bar_ahead():
    bars = bars_from_closes([10.5, 11, 9])
    bars["high"] = [10.0, 12.0, 11.0]
    bars["low"] = [9.0, 10.0, 8.0]
    out = drummond_lines(bars)
    np.testing.assert_allclose(out["resistance_line"], [np.nan, 14.0, 10.0])
    np.testing.assert_allclose(out["support_line"], [np.nan, 11.0, 6.0])


def _frame_with_lines(support: list[float], resistance: list[float]) -> pd.DataFrame:
    frame = bars_from_closes([100.0] * len(support))
    frame["support_line"] = support
    frame["resistance_line"] = resistance
    return frame


def test_lines_within_tolerance_merge_into_one_zone_weighted_by_line_count():
    # tolerance 0.2 % of the 100 close = 0.2
    frame = _frame_with_lines([np.nan, 100.0, 105.0, 100.1, 100.15], [110, 111, 112, 113, 114])
    zones = drummond_zones(frame)
    assert len(zones) == 1
    zone = zones.iloc[0]
    assert zone["kind"] == "support"
    assert zone["weight"] == 3
    assert zone["lower"] == 100.0
    assert zone["upper"] == 100.15
    assert zone["level"] == pytest.approx((100.0 + 100.1 + 100.15) / 3)


def test_zones_chain_lines_that_are_each_within_tolerance_of_the_next():
    frame = _frame_with_lines([100.0, 100.15, 100.3, 100.45], [120, 121, 122, 123])
    zones = drummond_zones(frame)
    assert zones["weight"].tolist() == [4]


def test_single_lines_are_not_zones_by_default_but_the_minimum_weight_is_a_parameter():
    frame = _frame_with_lines([100.0, 101.0], [110.0, 112.0])
    assert drummond_zones(frame).empty
    lone = drummond_zones(frame, DrummondParameters(min_zone_weight=1))
    assert sorted(lone["kind"]) == ["resistance", "resistance", "support", "support"]


def test_zones_pool_only_the_last_zone_lookback_bars():
    frame = _frame_with_lines([100.0, 100.05, 107, 108, 109], [120, 121, 122, 123, 124])
    assert drummond_zones(frame, DrummondParameters(zone_lookback=3)).empty
    assert len(drummond_zones(frame, DrummondParameters(zone_lookback=5))) == 1


def test_zone_tolerance_is_relative_to_price():
    cheap = _frame_with_lines([3.0, 3.005], [4.0, 5.0])
    cheap["close"] = 3.0
    dear = _frame_with_lines([3000.0, 3005.0], [4000.0, 5000.0])
    dear["close"] = 3000.0
    assert len(drummond_zones(cheap)) == len(drummond_zones(dear)) == 1
