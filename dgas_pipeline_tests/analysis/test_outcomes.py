"""EOD outcome evaluation and calibration, on hand-made bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dgas_pipeline.analysis import calibration, evaluate_outcomes

T0 = pd.Timestamp("2024-03-12 13:30", tz="UTC")
STEP = pd.Timedelta("30min")


def _bars(ohlc: list[tuple[float, float, float, float]], symbol: str = "AAA") -> pd.DataFrame:
    ts = pd.date_range(T0, periods=len(ohlc), freq=STEP)
    return pd.DataFrame(
        {
            "symbol": symbol,
            "ts": ts,
            "open": [b[0] for b in ohlc],
            "high": [b[1] for b in ohlc],
            "low": [b[2] for b in ohlc],
            "close": [b[3] for b in ohlc],
            "volume": 1.0,
            "session_open": T0,
            "session_close": T0 + pd.Timedelta("6h30min"),
        }
    )


def _signal(kind: str, entry: float, stop: float, target: float, **extra) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "symbol": "AAA",
                "signal_timestamp": T0,
                "signal_type": kind,
                "entry_price": entry,
                "stop_loss": stop,
                "target_price": target,
                **extra,
            }
        ]
    )


def _evaluate(signal: pd.DataFrame, bars: pd.DataFrame, horizon: int = 3) -> pd.Series:
    later = T0 + pd.Timedelta("1D")
    return evaluate_outcomes(signal, bars, later, horizon_bars=horizon).iloc[0]


def test_target_reached_first_is_a_win_with_the_targets_pnl():
    bars = _bars([(100, 101, 99.5, 100.5), (100.5, 104.5, 100, 104), (104, 105, 96, 97)])
    out = _evaluate(_signal("LONG", 100, 98, 104), bars)
    assert out["outcome"] == "WIN"
    assert out["pnl_pct"] == pytest.approx(4.0)
    assert (out["actual_high"], out["actual_low"], out["actual_close"]) == (104.5, 99.5, 104)
    assert out["evaluated_at"] == T0 + pd.Timedelta("1D")


def test_stop_reached_first_is_a_loss():
    bars = _bars([(100, 100.5, 97.5, 98), (98, 105, 98, 104), (104, 105, 103, 104)])
    out = _evaluate(_signal("LONG", 100, 98, 104), bars)
    assert out["outcome"] == "LOSS"
    assert out["pnl_pct"] == pytest.approx(-2.0)


def test_target_and_stop_in_the_same_bar_count_as_a_loss():
    bars = _bars([(100, 104.5, 97.5, 100)] * 3)
    assert _evaluate(_signal("LONG", 100, 98, 104), bars)["outcome"] == "LOSS"


def test_neither_by_the_horizon_is_neutral_with_the_last_close_pnl():
    bars = _bars([(100, 101, 99, 100), (100, 101, 99, 100.5), (100.5, 101, 99, 101)])
    out = _evaluate(_signal("LONG", 100, 98, 104), bars)
    assert out["outcome"] == "NEUTRAL"
    assert out["pnl_pct"] == pytest.approx(1.0)


def test_a_short_wins_when_price_falls_to_its_target():
    bars = _bars([(100, 100.5, 95.5, 96)] + [(96, 97, 95, 96)] * 2)
    out = _evaluate(_signal("SHORT", 100, 102, 96), bars)
    assert out["outcome"] == "WIN"
    assert out["pnl_pct"] == pytest.approx(4.0)


def test_fewer_closed_bars_than_the_horizon_stay_pending():
    bars = _bars([(100, 101, 99, 100)] * 2)
    out = _evaluate(_signal("LONG", 100, 98, 104), bars, horizon=3)
    assert out["outcome"] == "PENDING"
    assert np.isnan(out["pnl_pct"]) and pd.isna(out["evaluated_at"])


def test_bars_not_closed_at_evaluation_time_are_not_walked():
    bars = _bars([(100, 101, 99, 100), (100, 105, 99, 104)])
    signal = _signal("LONG", 100, 98, 104)
    mid_second_bar = T0 + pd.Timedelta("45min")
    out = evaluate_outcomes(signal, bars, mid_second_bar, horizon_bars=3).iloc[0]
    assert out["outcome"] == "PENDING"


def test_the_bar_that_produced_the_signal_is_not_walked():
    before = _bars([(100, 110, 90, 100)])
    before["ts"] = T0 - STEP
    bars = pd.concat([before, _bars([(100, 101, 99, 100)] * 3)], ignore_index=True)
    assert _evaluate(_signal("LONG", 100, 98, 104), bars)["outcome"] == "NEUTRAL"


def test_a_limit_entry_never_reached_is_neutral_with_zero_pnl_even_if_the_target_was():
    bars = _bars([(100, 101, 99, 100), (100, 102, 99, 101), (101, 103, 100, 102)])
    out = _evaluate(_signal("LONG", 95, 93, 99), bars)
    assert out["outcome"] == "NEUTRAL"
    assert out["pnl_pct"] == 0.0


def test_the_trade_counts_from_the_bar_that_reaches_the_entry():
    bars = _bars(
        [
            (100, 103.5, 99.5, 103),  # target touched before any fill: not a win
            (103, 103.2, 98.8, 99),  # filled on the way down; 103 came before the fill
            (99, 103.5, 98.5, 103),  # target reached after the fill
        ]
    )
    out = _evaluate(_signal("LONG", 99, 97, 103), bars)
    assert out["outcome"] == "WIN"
    assert out["actual_high"] == 103.5 and out["actual_low"] == 98.5


def test_signals_already_decided_come_back_unchanged():
    bars = _bars([(100, 105, 99, 104)] * 3)
    out = _evaluate(_signal("LONG", 100, 98, 104, outcome="LOSS"), bars)
    assert out["outcome"] == "LOSS" and np.isnan(out["pnl_pct"])


def test_a_signal_of_a_symbol_without_bars_stays_pending():
    signal = _signal("LONG", 100, 98, 104).assign(symbol="ZZZ")
    assert _evaluate(signal, _bars([(100, 105, 99, 104)] * 3))["outcome"] == "PENDING"


def test_calibration_buckets_count_decided_signals_and_their_win_rate():
    signals = pd.DataFrame(
        {
            "confidence": [0.55, 0.58, 0.65, 0.95, 1.0, 0.45, 0.75, 0.72],
            "outcome": ["WIN", "LOSS", "WIN", "WIN", "LOSS", "WIN", "PENDING", "NEUTRAL"],
        }
    )
    out = calibration(signals)
    assert out["bucket"].tolist() == ["0.5-0.6", "0.6-0.7", "0.7-0.8", "0.8-0.9", "0.9-1.0"]
    assert out["signals"].tolist() == [2, 1, 1, 0, 2]
    assert out["wins"].tolist() == [1, 1, 0, 0, 1]
    assert out["neutrals"].tolist() == [0, 0, 1, 0, 0]
    np.testing.assert_allclose(out["win_rate"], [0.5, 1.0, 0.0, np.nan, 0.5])
    assert out["mean_confidence"].iloc[4] == pytest.approx(0.975)
