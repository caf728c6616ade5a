"""Resampling on session boundaries, the closed-bar rule, alignment and confluence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dgas_pipeline.analysis import (
    asof_positions,
    closed_bars,
    confluence_zones,
    resample_bars,
    timeframe_alignment,
)
from dgas_pipeline_tests.analysis.synthetic import regime_walk, sessions

ET = "America/New_York"


def _local(frame: pd.DataFrame, column: str) -> list[str]:
    return [f"{t:%H:%M}" for t in pd.DatetimeIndex(frame[column]).tz_convert(ET)]


def _one_day(day: str) -> pd.DataFrame:
    return regime_walk(["AAA"], sessions(day, day), seed=1)


def test_four_hour_bars_of_a_normal_day_are_0930_1330_and_1330_1600():
    out = resample_bars(_one_day("2024-03-12"), "4h")
    assert _local(out, "ts") == ["09:30", "13:30"]
    assert _local(out, "end") == ["13:30", "16:00"]
    assert out["bar_count"].tolist() == [8, 5]


def test_early_close_day_has_one_four_hour_bar_ending_at_1300():
    out = resample_bars(_one_day("2024-11-29"), "4h")  # day after Thanksgiving
    assert _local(out, "ts") == ["09:30"]
    assert _local(out, "end") == ["13:00"]
    assert out["bar_count"].tolist() == [7]


def test_hourly_bars_are_cut_at_the_close():
    normal = resample_bars(_one_day("2024-03-12"), "1h")
    assert _local(normal, "end")[-2:] == ["15:30", "16:00"]
    early = resample_bars(_one_day("2024-07-03"), "1h")
    assert _local(early, "ts") == ["09:30", "10:30", "11:30", "12:30"]
    assert _local(early, "end")[-1] == "13:00"


def test_buckets_follow_the_local_open_across_the_dst_switch():
    out = resample_bars(regime_walk(["AAA"], sessions("2024-03-08", "2024-03-11")), "4h")
    utc_ends = [f"{t:%m-%d %H:%M}" for t in out["end"]]
    assert utc_ends == ["03-08 18:30", "03-08 21:00", "03-11 17:30", "03-11 20:00"]
    assert set(_local(out, "end")) == {"13:30", "16:00"}


@pytest.mark.parametrize("timeframe", ["1h", "2h", "4h", "1D"])
def test_no_resampled_bar_crosses_a_session_boundary_in_a_whole_year(timeframe):
    bars = regime_walk(["AAA", "BBB"], sessions("2024-01-01", "2024-12-31"), seed=2)
    out = resample_bars(bars, timeframe)
    assert (out["ts"] >= out["session_open"]).all()
    assert (out["end"] <= out["session_close"]).all()
    assert (out["end"] > out["ts"]).all()
    per_session = bars.groupby(["symbol", "session"]).size()
    counted = out.groupby([out["symbol"].astype(str), "session"])["bar_count"].sum()
    assert counted.to_numpy().tolist() == per_session.to_numpy().tolist()


def test_resampled_bar_takes_first_open_max_high_min_low_last_close_summed_volume():
    bars = _one_day("2024-03-12")
    out = resample_bars(bars, "4h").iloc[0]
    first = bars.iloc[:8]
    assert out["open"] == first["open"].iloc[0]
    assert out["high"] == first["high"].max()
    assert out["low"] == first["low"].min()
    assert out["close"] == first["close"].iloc[-1]
    assert out["volume"] == first["volume"].sum()
    assert out["session"] == first["session"].iloc[0]


def test_a_forming_higher_bar_is_not_closed_until_its_end():
    bars = _one_day("2024-03-12")
    morning = bars[bars["ts"] < pd.Timestamp("2024-03-12 15:00", tz="UTC")]  # to 11:00 ET
    four_hour = resample_bars(morning, "4h")
    assert len(four_hour) == 1  # 09:30 bucket, still forming
    assert closed_bars(four_hour, pd.Timestamp("2024-03-12 15:00", tz="UTC")).empty
    full = resample_bars(bars, "4h")
    assert len(closed_bars(full, pd.Timestamp("2024-03-12 17:30", tz="UTC"))) == 1
    assert len(closed_bars(full, pd.Timestamp("2024-03-12 17:29", tz="UTC"))) == 0


def test_closed_bars_refuses_a_naive_as_of():
    out = resample_bars(_one_day("2024-03-12"), "4h")
    with pytest.raises(ValueError, match="naive"):
        closed_bars(out, pd.Timestamp("2024-03-12 17:30"))


def test_asof_positions_pick_the_latest_higher_bar_closed_by_the_trading_bar_end():
    bars = regime_walk(["AAA", "BBB"], sessions("2024-03-12", "2024-03-13"))
    hourly, four_hour = resample_bars(bars, "1h"), resample_bars(bars, "4h")
    found = asof_positions(hourly, four_hour)
    for i, j in enumerate(found):
        mine = four_hour[four_hour["symbol"] == hourly["symbol"].iloc[i]]
        done = mine[mine["end"] <= hourly["end"].iloc[i]]
        assert j == (done.index[-1] if len(done) else -1)


def test_unknown_timeframe_is_refused_with_an_example():
    with pytest.raises(ValueError, match="such as '30min'"):
        resample_bars(_one_day("2024-03-12"), "four hours")


def _states(rows: list[tuple[str, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["state", "direction", "state_confidence"])


def test_alignment_scores_and_permission_match_hand_computed_table():
    higher = _states(
        [
            ("TREND", 1, 0.8),
            ("TREND", 1, 0.5),
            ("CONGESTION_ACTION", 0, 0.4),
            ("TREND", 1, 1.0),
            ("CONGESTION_ACTION", 0, 1.0),
        ]
    )
    trading = _states(
        [
            ("TREND", 1, 0.6),  # same direction, same state
            ("CONGESTION_EXIT", 1, 0.5),  # same direction, compatible state
            ("TREND", 1, 0.6),  # higher neutral, states incompatible
            ("TREND", -1, 1.0),  # opposite directions
            ("CONGESTION_ENTRANCE", 1, 1.0),  # higher neutral, both congestion
        ]
    )
    out = timeframe_alignment(higher, trading, min_alignment=0.6)
    expected = [0.5 + 0.2 + 0.3 * 0.7, 0.5 + 0.1 + 0.3 * 0.5, 0.25 + 0.3 * 0.5, 0.2 + 0.3, 0.65]
    np.testing.assert_allclose(out["alignment_score"], expected)
    assert out["trade_permitted"].tolist() == [True, True, False, False, True]


def test_alignment_is_unknown_where_a_state_is_unknown():
    higher = _states([(None, 0, np.nan)])
    trading = _states([("TREND", 1, 0.7)])
    out = timeframe_alignment(higher, trading)
    assert np.isnan(out["alignment_score"].iloc[0])
    assert not out["trade_permitted"].iloc[0]


def _zone(role: str, kind: str, level: float, weight: int = 2) -> dict:
    return {
        "symbol": "AAA",
        "role": role,
        "kind": kind,
        "level": level,
        "lower": level - 0.05,
        "upper": level + 0.05,
        "weight": weight,
        "close": 100.0,
    }


def test_confluence_needs_two_timeframes_and_weights_them_15_10_075():
    zones = pd.DataFrame(
        [
            _zone("higher", "support", 99.0),
            _zone("trading", "support", 99.1),  # within 0.3 % of 100: merges with higher
            _zone("lower", "support", 99.2),
            _zone("trading", "resistance", 101.0),
            _zone("trading", "resistance", 101.1),  # one timeframe only: not confluence
            _zone("higher", "resistance", 105.0),
        ]
    )
    out = confluence_zones(zones)
    assert len(out) == 1
    zone = out.iloc[0]
    assert zone["kind"] == "support"
    assert zone["timeframes"] == ["higher", "trading", "lower"]
    assert zone["n_timeframes"] == 3
    assert zone["weighted_strength"] == pytest.approx(1.5 + 1.0 + 0.75)
    assert zone["level"] == pytest.approx((1.5 * 99.0 + 1.0 * 99.1 + 0.75 * 99.2) / 3.25)
    assert (zone["lower"], zone["upper"]) == pytest.approx((98.95, 99.25))
    assert zone["lines"] == 6


def test_support_and_resistance_never_merge_into_one_confluence_zone():
    zones = pd.DataFrame([_zone("higher", "support", 99.0), _zone("trading", "resistance", 99.0)])
    assert confluence_zones(zones).empty
