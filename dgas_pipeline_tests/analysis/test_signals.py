"""Signals: the generated_signals contract, no look-ahead, live == backfill, thresholds."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dgas_pipeline.analysis import (
    SIGNAL_COLUMNS,
    STATES,
    SignalThresholds,
    closed_bars,
    compute_indicators,
    generate_signals,
    generate_signals_range,
    resample_bars,
)
from dgas_pipeline.analysis.patterns import PATTERN_COLUMNS
from dgas_pipeline_tests.analysis.synthetic import regime_walk, sessions

HOUR = pd.Timedelta("1h")


@pytest.fixture(scope="module")
def backfill(walk_bars: pd.DataFrame, walk_end: pd.Timestamp) -> pd.DataFrame:
    return generate_signals_range(walk_bars, walk_bars["ts"].iloc[0], walk_end)


def test_a_regime_switching_random_walk_yields_signals_with_default_thresholds():
    days = sessions("2024-01-02", "2024-03-28")
    bars = regime_walk(["AAA", "BBB", "CCC"], days, seed=42, drift=0.001, vol=0.003)
    out = generate_signals_range(bars, bars["ts"].iloc[0], bars["session_close"].iloc[-1])
    assert len(out) >= 10
    assert set(out["signal_type"]) == {"LONG", "SHORT"}


def test_signal_columns_are_those_of_the_generated_signals_table(backfill, walk_bars):
    assert tuple(backfill.columns) == SIGNAL_COLUMNS
    assert str(backfill["signal_timestamp"].dtype) == "datetime64[ns, UTC]"
    assert backfill["confluence_zones_count"].dtype == np.int64
    empty = generate_signals(walk_bars.iloc[:0], pd.Timestamp("2024-01-01", tz="UTC"))
    assert tuple(empty.columns) == SIGNAL_COLUMNS and empty.empty
    pd.testing.assert_series_equal(empty.dtypes, backfill.dtypes)


def test_stop_and_target_lie_on_the_right_side_of_the_entry(backfill):
    long = backfill[backfill["signal_type"] == "LONG"]
    short = backfill[backfill["signal_type"] == "SHORT"]
    assert len(long) and len(short)
    assert (long["stop_loss"] < long["entry_price"]).all()
    assert (long["target_price"] > long["entry_price"]).all()
    assert (short["stop_loss"] > short["entry_price"]).all()
    assert (short["target_price"] < short["entry_price"]).all()
    np.testing.assert_allclose(backfill["risk_reward_ratio"], 2.0)


def test_scores_are_in_unit_interval_and_over_the_default_thresholds(backfill):
    for column in ("confidence", "signal_strength", "timeframe_alignment"):
        assert backfill[column].between(0, 1).all(), column
    assert (backfill["confidence"] >= 0.6).all()
    assert (backfill["signal_strength"] >= 0.5).all()
    assert (backfill["timeframe_alignment"] >= 0.6).all()


def test_htf_trend_is_upper_case_and_matches_the_signal_side(backfill):
    assert set(backfill["htf_trend"]) <= {"UP", "DOWN"}
    side = backfill["signal_type"].map({"LONG": "UP", "SHORT": "DOWN"})
    assert (backfill["htf_trend"] == side).all()
    assert set(backfill["trading_tf_state"]) <= set(STATES)


def test_higher_and_trading_timeframes_differ_in_every_signal(backfill):
    assert (backfill["htf_timeframe"] == "4h").all()
    assert (backfill["trading_timeframe"] == "1h").all()


@pytest.mark.parametrize(
    "timeframes", [("1h", "1h", "30min"), ("1h", "4h"), ("4h",), ("4h", "1h", "1h")]
)
def test_timeframes_that_are_not_strictly_decreasing_are_refused(walk_bars, timeframes):
    with pytest.raises(ValueError, match="timeframes"):
        generate_signals(walk_bars, pd.Timestamp("2024-03-01 21:00", tz="UTC"), timeframes)


def test_higher_timeframe_bar_used_had_closed_by_the_signal(backfill, walk_bars):
    four_hour_ends = set(resample_bars(walk_bars, "4h")["end"])
    for stamp, context in zip(
        backfill["signal_timestamp"], backfill["pattern_context"], strict=True
    ):
        htf_end = pd.Timestamp(context["htf_bar_end"])
        assert htf_end <= stamp
        assert htf_end in four_hour_ends


def test_live_signal_is_for_the_newest_closed_trading_bar(walk_bars, walk_end):
    at_close = generate_signals(walk_bars, walk_end)
    assert len(at_close)
    assert (at_close["signal_timestamp"] == walk_end).all()  # the 15:30-16:00 bar
    mid_bar = generate_signals(walk_bars, walk_end - pd.Timedelta("15min"))
    assert (mid_bar["signal_timestamp"] == walk_end - pd.Timedelta("30min")).all()
    assert at_close["symbol"].is_unique


def test_bars_at_or_after_as_of_are_ignored(walk_bars):
    as_of = pd.Timestamp("2024-04-10 17:30", tz="UTC")
    cut = walk_bars[walk_bars["ts"] < as_of].reset_index(drop=True)
    pd.testing.assert_frame_equal(generate_signals(walk_bars, as_of), generate_signals(cut, as_of))


def test_live_call_equals_range_generation_for_every_bar(walk_bars):
    start = pd.Timestamp("2024-04-24 13:30", tz="UTC")
    end = pd.Timestamp("2024-04-26 20:00", tz="UTC")
    ranged = generate_signals_range(walk_bars, start, end)
    cycle_times = pd.date_range(start + pd.Timedelta("30min"), end, freq="30min")
    live = pd.concat([generate_signals(walk_bars, t) for t in cycle_times], ignore_index=True)
    live = live[live["signal_timestamp"] > start]
    # a cycle between two trading-bar closes repeats the previous bar's signal unchanged
    as_text = live.assign(pattern_context=live["pattern_context"].map(json.dumps))
    assert len(as_text.drop_duplicates()) == len(
        live.drop_duplicates(subset=["symbol", "signal_timestamp"])
    )
    live = live.drop_duplicates(subset=["symbol", "signal_timestamp"])
    live = live.sort_values(["symbol", "signal_timestamp"], ignore_index=True)
    assert len(ranged) > 0
    pd.testing.assert_frame_equal(ranged, live)


@settings(max_examples=6, deadline=None)
@given(cut_bar=st.integers(200, 700))
def test_appending_later_bars_never_changes_earlier_signals(walk_bars, cut_bar):
    cutoff = walk_bars["ts"].iloc[cut_bar]  # all symbols share the grid
    first = walk_bars["ts"].iloc[0]
    before = generate_signals_range(walk_bars[walk_bars["ts"] < cutoff], first, cutoff)
    after = generate_signals_range(walk_bars, first, cutoff + pd.Timedelta("10D"))
    after = after[after["signal_timestamp"] <= cutoff].reset_index(drop=True)
    pd.testing.assert_frame_equal(before, after)


def test_prices_a_thousand_times_larger_give_the_same_signals(walk_bars, backfill, walk_end):
    scaled = walk_bars.copy()
    for column in ("open", "high", "low", "close"):
        scaled[column] = scaled[column] * 1000
    out = generate_signals_range(scaled, scaled["ts"].iloc[0], walk_end)
    keys = ["symbol", "signal_timestamp", "signal_type", "trading_tf_state", "htf_trend"]
    pd.testing.assert_frame_equal(out[keys], backfill[keys])
    np.testing.assert_allclose(out["confidence"], backfill["confidence"], rtol=1e-9)
    np.testing.assert_allclose(out["entry_price"], backfill["entry_price"] * 1000, rtol=1e-9)


def test_a_multi_symbol_frame_gives_what_each_symbol_gives_alone(walk_bars, backfill, walk_end):
    alone = [
        generate_signals_range(part.reset_index(drop=True), walk_bars["ts"].iloc[0], walk_end)
        for _, part in walk_bars.groupby("symbol", sort=True)
    ]
    pd.testing.assert_frame_equal(pd.concat(alone, ignore_index=True), backfill)


def test_processing_in_chunks_of_symbols_changes_nothing(walk_bars, backfill, walk_end):
    small = generate_signals_range(walk_bars, walk_bars["ts"].iloc[0], walk_end, chunk_rows=1)
    pd.testing.assert_frame_equal(small, backfill)


def test_higher_thresholds_keep_a_subset(walk_bars, backfill, walk_end):
    strict = SignalThresholds(min_confidence=0.85, min_signal_strength=0.8, min_alignment=0.8)
    out = generate_signals_range(walk_bars, walk_bars["ts"].iloc[0], walk_end, thresholds=strict)
    assert 0 < len(out) < len(backfill)
    assert (out["confidence"] >= 0.85).all() and (out["signal_strength"] >= 0.8).all()
    assert (out["timeframe_alignment"] >= 0.8).all()


def test_disabled_patterns_never_confirm_a_signal(walk_bars, walk_end):
    none = SignalThresholds(enabled_patterns=())
    out = generate_signals_range(walk_bars, walk_bars["ts"].iloc[0], walk_end, thresholds=none)
    assert all(c["confirming_patterns"] == [] for c in out["pattern_context"])
    only = SignalThresholds(enabled_patterns=("pldot_push",))
    out = generate_signals_range(walk_bars, walk_bars["ts"].iloc[0], walk_end, thresholds=only)
    assert {p for c in out["pattern_context"] for p in c["confirming_patterns"]} == {"PLDOT_PUSH"}


def test_thresholds_are_checked_with_the_field_named():
    with pytest.raises(ValueError, match=r"min_confidence: 1\.5"):
        SignalThresholds(min_confidence=1.5)
    with pytest.raises(ValueError, match=r"enabled_patterns: \['HEAD_AND_SHOULDERS'\]"):
        SignalThresholds(enabled_patterns=("head_and_shoulders",))


def test_pattern_context_is_json_and_agrees_with_the_indicator_frame(backfill, walk_bars):
    json.dumps(list(backfill["pattern_context"]))
    hourly = compute_indicators(
        closed_bars(resample_bars(walk_bars, "1h"), backfill["signal_timestamp"].max())
    )
    hourly = hourly.set_index([hourly["symbol"].astype(str), "end"])
    for row in backfill.itertuples():
        bar = hourly.loc[(row.symbol, row.signal_timestamp)]
        seen = {name: int(bar[col]) for name, col in PATTERN_COLUMNS.items() if bar[col] != 0}
        assert row.pattern_context["trading_tf_patterns"] == seen
        assert row.trading_tf_state == bar["state"]


def test_a_symbol_without_enough_history_gives_no_signal_and_no_error(walk_bars, walk_end):
    young = walk_bars[walk_bars["ts"] >= walk_end - pd.Timedelta("1D")]
    assert generate_signals(young.reset_index(drop=True), walk_end).empty


def test_missing_session_columns_are_named(walk_bars, walk_end):
    with pytest.raises(ValueError, match="session_close"):
        generate_signals(walk_bars.drop(columns="session_close"), walk_end)
