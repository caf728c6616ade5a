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
