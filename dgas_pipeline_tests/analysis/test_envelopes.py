"""Envelopes: 1.5 x the 3-bar std of PLdot by default, three other methods, and `position`."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dgas_pipeline.analysis import DrummondParameters, envelopes, pldot
from dgas_pipeline_tests.analysis.synthetic import bars_from_closes

NAN = np.nan


def test_pldot_range_envelope_matches_hand_computed_table():
    # closes = typical prices 10 11 12 13 14 12 -> PLdot nan nan 11 12 13 13
    out = envelopes(bars_from_closes([10, 11, 12, 13, 14, 12]))
    std_last = math.sqrt(((12 - 38 / 3) ** 2 + 2 * (13 - 38 / 3) ** 2) / 2)
    np.testing.assert_allclose(
        out["env_upper"], [NAN, NAN, NAN, NAN, 13 + 1.5, 13 + 1.5 * std_last]
    )
    np.testing.assert_allclose(
        out["env_lower"], [NAN, NAN, NAN, NAN, 13 - 1.5, 13 - 1.5 * std_last]
    )
    np.testing.assert_allclose(out["env_width"].iloc[4], 3.0)
    assert out["position"].iloc[4] == pytest.approx((14 - 11.5) / 3)
    assert out["position"].iloc[5] == 0.0  # close 12 is below the lower band: clipped


def test_pldot_range_envelope_agrees_with_pandas_rolling_std():
    closes = 100 + np.cumsum(np.random.default_rng(3).standard_normal(50))
    bars = bars_from_closes(closes, spread=0.4)
    out = envelopes(bars)
    center = pldot(bars)["pldot"]
    expected = center + 1.5 * center.rolling(3).std()
    np.testing.assert_allclose(out["env_upper"], expected, rtol=1e-12)


def test_high_low_range_envelope():
    out = envelopes(
        bars_from_closes([10, 11, 12, 13], spread=0.5),
        DrummondParameters(envelope_method="hl_range"),
    )
    np.testing.assert_allclose(out["env_upper"], [NAN, NAN, 11 + 1.5, 12 + 1.5])


def test_atr_envelope_uses_the_previous_close():
    # true ranges: 1 (first bar), then max(1, |c+0.5-c_prev|) = 1.5
    out = envelopes(
        bars_from_closes([10, 11, 12, 13], spread=0.5),
        DrummondParameters(envelope_method="atr"),
    )
    np.testing.assert_allclose(out["env_upper"], [NAN, NAN, 11 + 1.5 * 4 / 3, 12 + 1.5 * 1.5])


def test_percentage_envelope():
    out = envelopes(
        bars_from_closes([10, 11, 12, 13]),
        DrummondParameters(envelope_method="percentage", envelope_percent=0.02),
    )
    np.testing.assert_allclose(out["env_upper"], [NAN, NAN, 11 * 1.02, 12 * 1.02])


def test_unknown_envelope_method_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="envelope_method: 'bollinger' is not one of"):
        DrummondParameters(envelope_method="bollinger")


def test_position_is_clipped_to_unit_interval_and_half_on_a_flat_envelope():
    flat = envelopes(bars_from_closes([10, 10, 10, 10, 10]))
    assert flat["env_width"].iloc[-1] == 0.0
    assert flat["position"].iloc[-1] == 0.5
    ramp = envelopes(bars_from_closes([10, 11, 12, 13, 20]))
    assert ramp["position"].iloc[-1] == 1.0


def test_envelope_nan_placement_per_method():
    bars = pd.concat(
        [bars_from_closes(np.arange(6) + 10.0, symbol=s, spread=0.5) for s in "AB"],
        ignore_index=True,
    )
    expected_nan = {"pldot_range": 4, "hl_range": 2, "atr": 2, "percentage": 2}
    for method, n in expected_nan.items():
        out = envelopes(bars, DrummondParameters(envelope_method=method))
        nan = out["env_upper"].isna().to_numpy().reshape(2, 6)
        assert (nan.sum(axis=1) == n).all(), method
        assert nan[:, :n].all(), method
