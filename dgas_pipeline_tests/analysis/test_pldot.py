"""PLdot: the 3-bar mean typical price, on the newest bar too, with a price-relative dead band."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dgas_pipeline.analysis import DrummondParameters, pldot
from dgas_pipeline_tests.analysis.synthetic import bars_from_closes

NAN = np.nan


def _bars(rows: list[tuple[float, float, float]]) -> pd.DataFrame:
    frame = bars_from_closes([c for _, _, c in rows])
    frame["high"] = [h for h, _, _ in rows]
    frame["low"] = [lo for _, lo, _ in rows]
    return frame


def test_pldot_matches_hand_computed_table():
    bars = _bars([(12, 8, 10), (13, 9, 11), (15, 11, 13), (14, 10, 12), (16, 13, 13)])
    # typical prices 10, 11, 13, 12, 14
    out = pldot(bars)
    np.testing.assert_allclose(out["pldot"], [NAN, NAN, 34 / 3, 12.0, 13.0])
    np.testing.assert_allclose(out["pldot_slope"], [NAN, NAN, NAN, 12 - 34 / 3, 1.0])
    assert out["pldot_trend"].tolist() == [0, 0, 0, 1, 1]


def test_newest_closed_bar_has_a_pldot():
    out = pldot(bars_from_closes([10, 11, 12]))
    assert out["pldot"].iloc[-1] == pytest.approx(11.0)


def test_falling_pldot_trends_down_and_constant_pldot_is_flat():
    falling = pldot(bars_from_closes([14, 13, 12, 11, 10]))
    assert falling["pldot_trend"].tolist() == [0, 0, 0, -1, -1]
    flat = pldot(bars_from_closes([10, 10, 10, 10]))
    assert flat["pldot_trend"].tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize("level", [3.0, 3000.0])
def test_dead_band_is_relative_to_price_so_3_and_3000_dollar_stocks_read_alike(level):
    # a rise of 0.0017 % per bar is noise at any price; 1.7 % per bar is a trend at any price
    tiny = pldot(bars_from_closes(level * (1 + 1.7e-5 * np.arange(6))))
    big = pldot(bars_from_closes(level * (1 + 1.7e-2 * np.arange(6))))
    assert tiny["pldot_trend"].tolist()[3:] == [0, 0, 0]
    assert big["pldot_trend"].tolist()[3:] == [1, 1, 1]


def test_dead_band_is_a_parameter():
    bars = bars_from_closes(100 * (1 + 1.7e-5 * np.arange(6)))
    loose = pldot(bars, DrummondParameters(slope_dead_band=0.0))
    assert loose["pldot_trend"].tolist()[3:] == [1, 1, 1]


def test_first_two_pldots_of_every_symbol_are_nan_in_a_multi_symbol_frame():
    frame = pd.concat(
        [bars_from_closes([1, 2, 3, 4], symbol="A"), bars_from_closes([5, 6, 7], symbol="B")],
        ignore_index=True,
    )
    out = pldot(frame)
    assert out["pldot"].isna().tolist() == [True, True, False, False, True, True, False]
    assert out["pldot"].iloc[6] == pytest.approx(6.0)  # B's own bars only, nothing from A


def test_unsorted_bars_are_refused_with_the_symbol_named():
    frame = bars_from_closes([1, 2, 3]).iloc[[0, 2, 1]]
    with pytest.raises(ValueError, match="not strictly increasing within symbol 'AAA'"):
        pldot(frame)


def test_interleaved_symbols_are_refused():
    a, b = bars_from_closes([1, 2], symbol="A"), bars_from_closes([1, 2], symbol="B")
    frame = pd.concat([a.iloc[:1], b.iloc[:1], a.iloc[1:]], ignore_index=True)
    with pytest.raises(ValueError, match="not contiguous"):
        pldot(frame)


def test_naive_timestamps_are_refused():
    frame = bars_from_closes([1, 2, 3])
    frame["ts"] = frame["ts"].dt.tz_localize(None)
    with pytest.raises(ValueError, match="tz-aware"):
        pldot(frame)
