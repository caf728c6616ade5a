"""The aggregator: one signal per symbol and type per 60 minutes."""

from __future__ import annotations

import pandas as pd

from dgas_pipeline.analysis import aggregate_signals

T0 = pd.Timestamp("2024-03-12 14:30", tz="UTC")


def _signals(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": [r[0] for r in rows],
            "signal_type": [r[1] for r in rows],
            "signal_timestamp": [T0 + pd.Timedelta(minutes=r[2]) for r in rows],
        }
    )


def test_a_repeat_within_60_minutes_of_the_last_kept_signal_is_dropped():
    signals = _signals([("AAA", "LONG", 0), ("AAA", "LONG", 30), ("AAA", "LONG", 90)])
    assert aggregate_signals(signals).index.tolist() == [0, 2]


def test_exactly_60_minutes_is_still_within_the_window():
    signals = _signals([("AAA", "LONG", 0), ("AAA", "LONG", 60), ("AAA", "LONG", 61)])
    assert aggregate_signals(signals).index.tolist() == [0, 2]


def test_the_window_counts_from_the_last_kept_signal_not_the_last_seen():
    minutes = [0, 40, 80, 120, 160]
    signals = _signals([("AAA", "LONG", m) for m in minutes])
    assert aggregate_signals(signals).index.tolist() == [0, 2, 4]


def test_other_symbols_and_the_opposite_side_are_independent():
    signals = _signals([("AAA", "LONG", 0), ("AAA", "SHORT", 10), ("BBB", "LONG", 20)])
    assert len(aggregate_signals(signals)) == 3


def test_previously_kept_signals_seed_the_window_and_are_not_returned():
    previous = _signals([("AAA", "LONG", -30)])
    signals = _signals([("AAA", "LONG", 0), ("AAA", "LONG", 45), ("BBB", "LONG", 0)])
    assert aggregate_signals(signals, previous).index.tolist() == [1, 2]


def test_order_and_index_of_the_kept_rows_are_preserved():
    signals = _signals([("BBB", "LONG", 90), ("AAA", "LONG", 0), ("BBB", "LONG", 0)])
    signals.index = [10, 11, 12]
    assert aggregate_signals(signals).index.tolist() == [10, 11, 12]


def test_the_window_is_configurable():
    signals = _signals([("AAA", "LONG", 0), ("AAA", "LONG", 30)])
    assert len(aggregate_signals(signals, window=pd.Timedelta("15min"))) == 2
