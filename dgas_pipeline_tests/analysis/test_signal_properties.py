"""Properties of the live signal call, checked on generated bar frames (hypothesis).

- `generate_signals` never raises on valid bars, whatever the frame, the instant, the
  thresholds or the timeframes: one symbol alone, a candidate without any confluence zone,
  a trading bar before any higher-timeframe bar has closed are ordinary cases;
- at every instant it returns, for each symbol, the `generate_signals_range` row of the
  symbol's newest trading bar closed by then (nothing when that bar gave no signal).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dgas_pipeline.analysis import (
    PATTERNS,
    SignalThresholds,
    asof_positions,
    generate_signals,
    generate_signals_range,
    resample_bars,
)
from dgas_pipeline_tests.analysis.strategies import START, STEP, bar_frames
from dgas_pipeline_tests.analysis.synthetic import bars_from_closes, regime_walk, sessions

TIMEFRAMES = [("4h", "1h", "30min"), ("4h", "1h"), ("2h", "1h", "30min"), ("1h", "30min")]
# Low cut-offs let most candidates through, so the no-zone and first-bars paths are reached.
EVERYTHING = SignalThresholds(min_confidence=0, min_signal_strength=0, min_alignment=0)
NEVER = np.iinfo(np.int64).max
unit = st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.6, 0.8, 1.0]) | st.floats(0.0, 1.0)


@st.composite
def thresholds(draw: st.DrawFn) -> SignalThresholds:
    patterns = draw(st.none() | st.lists(st.sampled_from(PATTERNS), unique=True).map(tuple))
    return SignalThresholds(
        min_confidence=draw(unit),
        min_signal_strength=draw(unit),
        min_alignment=draw(unit),
        enabled_patterns=patterns,
    )


def valid_until(ranged: pd.DataFrame, bars: pd.DataFrame, trading: str) -> np.ndarray:
    """For each row of `ranged`, the end of its symbol's next trading bar (int64 ns; the
    maximum when there is none): a live call at `at` returns exactly the rows with
    signal_timestamp <= at < valid_until."""
    resampled = resample_bars(bars, trading)
    stamps = pd.DatetimeIndex(ranged["signal_timestamp"]).asi8
    until = np.full(len(ranged), NEVER)
    for symbol, ends in resampled.groupby(resampled["symbol"].astype(str))["end"]:
        ends_ns = np.append(np.sort(pd.DatetimeIndex(ends).asi8), NEVER)
        mine = (ranged["symbol"] == symbol).to_numpy()
        until[mine] = ends_ns[np.searchsorted(ends_ns, stamps[mine], side="right")]
    return until


@settings(max_examples=30, deadline=None)
@given(
    data=bar_frames(max_symbols=3, min_bars=1, max_bars=60),
    timeframes=st.sampled_from(TIMEFRAMES),
    chosen=thresholds(),
)
def test_the_live_call_never_raises_and_is_the_range_row_at_every_instant(
    data: tuple[pd.DataFrame, list[int]], timeframes: tuple[str, ...], chosen: SignalThresholds
) -> None:
    bars, lengths = data
    ranged = generate_signals_range(
        bars, START, START + max(lengths) * STEP, timeframes, thresholds=chosen
    )
    stamps = pd.DatetimeIndex(ranged["signal_timestamp"]).asi8
    until = valid_until(ranged, bars, timeframes[1])
    # every bar end, a few instants inside bars, and one before any bar
    instants = START + STEP * np.concatenate([np.arange(max(lengths) + 1), [0.5, 7.25, 13.5]])
    live, expected = [], []
    for at in instants:
        live.append(generate_signals(bars, at, timeframes, thresholds=chosen))
        expected.append(ranged[(stamps <= at.value) & (at.value < until)])
    pd.testing.assert_frame_equal(
        pd.concat(live, ignore_index=True), pd.concat(expected, ignore_index=True)
    )


@settings(max_examples=40, deadline=None)
@given(
    data=bar_frames(max_symbols=1, min_bars=1, max_bars=70),
    timeframes=st.sampled_from(TIMEFRAMES),
)
def test_one_symbol_alone_with_every_threshold_at_zero_never_raises(
    data: tuple[pd.DataFrame, list[int]], timeframes: tuple[str, ...]
) -> None:
    """All cut-offs at 0: every permitted bar is a candidate, many without a confluence zone;
    those enter at the close, the others at their zone's level."""
    bars, lengths = data
    for k in range(lengths[0] + 1):
        at = START + k * STEP
        live = generate_signals(bars, at, timeframes, thresholds=EVERYTHING)
        assert len(live) <= 1
        if len(live):
            row = live.iloc[0]
            zone = row["pattern_context"]["entry_zone"]
            close = bars.loc[bars["ts"] < row["signal_timestamp"], "close"].iloc[-1]
            assert row["entry_price"] == (close if zone is None else zone["level"])


# -- pinned cases of the same categories -------------------------------------------------------


def test_a_signal_without_any_confluence_zone_enters_at_the_close() -> None:
    """One symbol alone; its one candidate has no confluence zone at all (the arrays of
    zones are empty), as the live cycle of 2026-04-08 15:30 ET met it."""
    bars = regime_walk(["AAA"], sessions("2024-02-01", "2024-03-15"), seed=20240201)
    at = pd.Timestamp("2024-03-04 21:00", tz="UTC")

    live = generate_signals(bars, at)

    (row,) = live.itertuples()
    assert row.confluence_zones_count == 0
    assert row.pattern_context["entry_zone"] is None
    assert row.entry_price == bars.loc[bars["ts"] < at, "close"].iloc[-1]
    assert (row.stop_loss < row.entry_price) == (row.signal_type == "LONG")
    ranged = generate_signals_range(bars, at - pd.Timedelta("30min"), at)
    pd.testing.assert_frame_equal(live, ranged)


@pytest.mark.parametrize(
    ("bars_count", "timeframes"),
    [
        (7, ("4h", "30min")),  # trading states known, no 4h bar closed yet
        (7, ("4h", "1h", "30min")),
        (1, ("1h", "30min")),
        (3, ("2h", "1h")),
    ],
)
def test_no_higher_bar_closed_yet_gives_no_signal_and_no_error(
    bars_count: int, timeframes: tuple[str, ...]
) -> None:
    """Mid-session, before the first higher bar of the session has closed."""
    bars = bars_from_closes(100 + np.arange(bars_count, dtype=float), spread=0.2)
    bars["session_close"] = START + pd.Timedelta("6h30min")
    at = START + bars_count * STEP
    assert generate_signals(bars, at, timeframes, thresholds=EVERYTHING).empty
    assert generate_signals_range(bars, START, at, timeframes, thresholds=EVERYTHING).empty


def test_a_symbol_with_a_higher_bar_beside_one_without_decides_each_alone() -> None:
    old = bars_from_closes(100 + 0.3 * np.arange(60), symbol="OLD", spread=0.3)  # trending
    young = bars_from_closes(50 + np.arange(7, dtype=float), symbol="YNG", spread=0.2)
    young["ts"] = young["ts"] + (old["ts"].iloc[-1] - young["ts"].iloc[-1])
    young["session_open"] = young["ts"].iloc[0]
    young["session_close"] = young["ts"].iloc[0] + pd.Timedelta("6h30min")
    both = pd.concat([old, young], ignore_index=True)
    end = old["session_close"].iloc[0]
    together = generate_signals(both, end, ("4h", "30min"), thresholds=EVERYTHING)
    alone = generate_signals(old, end, ("4h", "30min"), thresholds=EVERYTHING)
    assert alone["signal_type"].tolist() == ["LONG"]
    pd.testing.assert_frame_equal(together, alone)


def test_as_of_positions_into_an_empty_frame_are_all_missing() -> None:
    left = resample_bars(bars_from_closes([1.0, 2.0, 3.0], symbol="AAA"), "1h")
    right = resample_bars(bars_from_closes([1.0], symbol="BBB").iloc[:0], "4h")
    assert asof_positions(left, right).tolist() == [-1] * len(left)
