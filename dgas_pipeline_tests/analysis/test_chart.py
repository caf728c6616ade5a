"""The signal chart renders a PNG without pyplot."""

from __future__ import annotations

import pandas as pd
import pytest

from dgas_pipeline.analysis import (
    compute_indicators,
    generate_signals_range,
    resample_bars,
    signal_chart_png,
)
from dgas_pipeline.analysis.chart import chart_title, tick_labels


@pytest.fixture(scope="module")
def one_signal(walk_bars, walk_end):
    signals = generate_signals_range(walk_bars, walk_end - pd.Timedelta("5D"), walk_end)
    return signals.iloc[-1]


def test_chart_of_a_signal_is_a_png(walk_bars, one_signal):
    hourly = resample_bars(walk_bars[walk_bars["symbol"] == one_signal["symbol"]], "1h")
    png = signal_chart_png(hourly, compute_indicators(hourly), one_signal)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 10_000


def test_chart_computes_indicators_when_not_given(walk_bars, one_signal):
    hourly = resample_bars(walk_bars[walk_bars["symbol"] == one_signal["symbol"]], "1h")
    assert signal_chart_png(hourly, None, one_signal, last_bars=20).startswith(b"\x89PNG")


def test_chart_refuses_bars_of_several_symbols(walk_bars, one_signal):
    with pytest.raises(ValueError, match="more than one symbol"):
        signal_chart_png(resample_bars(walk_bars, "1h"), None, one_signal)


@pytest.mark.parametrize(
    ("tz", "title_time", "first_tick"),
    [
        ("America/New_York", "2026-07-01 10:30 EDT", "07-01 09:30"),
        ("Europe/London", "2026-07-01 15:30 BST", "07-01 14:30"),
        ("Asia/Hong_Kong", "2026-07-01 22:30 HKT", "07-01 21:30"),
    ],
)
def test_chart_times_are_in_the_exchange_zone_it_is_given(
    tz: str, title_time: str, first_tick: str
) -> None:
    signal = {
        "signal_timestamp": pd.Timestamp("2026-07-01T14:30:00Z"),
        "signal_type": "LONG",
        "confidence": 0.72,
    }
    assert chart_title("SPY", signal, tz) == f"SPY LONG at {title_time}  confidence 0.72"
    starts = pd.Series(pd.to_datetime(["2026-07-01T13:30:00Z", "2026-07-01T14:00:00Z"]))
    assert tick_labels(starts, tz)[0] == first_tick
