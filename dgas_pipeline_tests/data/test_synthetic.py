"""The synthetic provider: deterministic per (seed, symbol, bar), on the session grid, trending."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dgas_pipeline.data import SyntheticProvider, validate_bars
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market import MarketHoursManager

WEEK = (datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))
SIXTY_SESSIONS = (datetime(2026, 8, 1, tzinfo=UTC), datetime(2026, 10, 27, tzinfo=UTC))


@pytest.fixture(scope="module")
def provider() -> SyntheticProvider:
    return SyntheticProvider(MarketHoursManager(), seed=7)


def on_day(frame: pd.DataFrame, market: MarketHoursManager, day: date) -> pd.DataFrame:
    local_day = frame["ts"].dt.tz_convert(market.tz).dt.date
    return frame[local_day == day].reset_index(drop=True)


def test_a_day_fetched_alone_equals_the_same_day_inside_a_week(
    provider: SyntheticProvider, market: MarketHoursManager
) -> None:
    week = provider.fetch("AAPL", *WEEK, "30min")
    alone = provider.fetch(
        "AAPL", datetime(2026, 11, 24, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC), "30min"
    )
    assert len(alone) == 13
    assert_frame_equal(alone, on_day(week, market, date(2026, 11, 24)))


def test_a_window_starting_mid_session_gives_the_same_bars(provider: SyntheticProvider) -> None:
    whole = provider.fetch("MSFT", *WEEK, "30min")
    start = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)  # 12:00 ET
    end = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # 10:00 ET next day
    part = provider.fetch("MSFT", start, end, "30min")
    expected = whole[(whole["ts"] >= start) & (whole["ts"] < end)].reset_index(drop=True)
    assert len(part) == 8 + 1
    assert_frame_equal(part, expected)


def test_hourly_bars_aggregate_the_half_hour_bars(provider: SyntheticProvider) -> None:
    half = provider.fetch("IBM", *WEEK, "30min").set_index("ts")
    hourly = provider.fetch("IBM", *WEEK, "1h")
    for _, bar in hourly.iterrows():
        parts = half[(half.index >= bar["ts"]) & (half.index < bar["ts"] + timedelta(hours=1))]
        assert bar["open"] == parts["open"].iloc[0]
        assert bar["close"] == parts["close"].iloc[-1]
        assert bar["high"] == parts["high"].max()
        assert bar["low"] == parts["low"].min()
        assert bar["volume"] == parts["volume"].sum()


def test_different_symbols_differ(provider: SyntheticProvider) -> None:
    a = provider.fetch("AAPL", *WEEK, "30min")
    b = provider.fetch("MSFT", *WEEK, "30min")
    assert not np.allclose(a["close"].to_numpy(), b["close"].to_numpy())


def test_different_seeds_differ(market: MarketHoursManager) -> None:
    a = SyntheticProvider(market, seed=1).fetch("AAPL", *WEEK, "30min")
    b = SyntheticProvider(market, seed=2).fetch("AAPL", *WEEK, "30min")
    assert not np.allclose(a["close"].to_numpy(), b["close"].to_numpy())


def test_bars_are_the_same_in_another_process_with_another_hash_seed(
    provider: SyntheticProvider,
) -> None:
    script = (
        "import sys\n"
        "from datetime import datetime, UTC\n"
        "from dgas_pipeline.data import SyntheticProvider\n"
        "from dgas_pipeline.market import MarketHoursManager\n"
        "p = SyntheticProvider(MarketHoursManager(), seed=7)\n"
        "f = p.fetch('AAPL', datetime(2026, 11, 23, tzinfo=UTC),"
        " datetime(2026, 11, 30, tzinfo=UTC), '30min')\n"
        "f.to_json(sys.stdout, orient='records', date_format='iso', double_precision=15)\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    theirs = pd.read_json(io.StringIO(done.stdout), orient="records")
    ours = provider.fetch("AAPL", *WEEK, "30min")
    assert len(theirs) == len(ours) == 3 * 13 + 7
    assert list(pd.to_datetime(theirs["ts"], utc=True)) == list(ours["ts"])
    for column in ["open", "high", "low", "close", "volume"]:
        assert theirs[column].tolist() == ours[column].tolist(), column


def test_no_bars_on_thanksgiving(provider: SyntheticProvider) -> None:
    bars = provider.fetch(
        "AAPL", datetime(2026, 11, 26, tzinfo=UTC), datetime(2026, 11, 27, tzinfo=UTC), "30min"
    )
    assert bars.empty


def test_seven_bars_on_the_early_close_day_after_thanksgiving(
    provider: SyntheticProvider, market: MarketHoursManager
) -> None:
    bars = provider.fetch(
        "AAPL", datetime(2026, 11, 27, tzinfo=UTC), datetime(2026, 11, 28, tzinfo=UTC), "30min"
    )
    local = [market.local(ts.to_pydatetime()).strftime("%H:%M") for ts in bars["ts"]]
    assert local == ["09:30", "10:00", "10:30", "11:00", "11:30", "12:00", "12:30"]


def test_weekend_window_is_empty(provider: SyntheticProvider) -> None:
    bars = provider.fetch(
        "AAPL", datetime(2026, 11, 28, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC), "30min"
    )
    assert bars.empty
    assert list(bars.columns) == ["symbol", "ts", "open", "high", "low", "close", "volume"]


@pytest.mark.parametrize("interval", ["30min", "1h", "4h", "45min", "1min"])
@pytest.mark.parametrize("symbol", ["AAPL", "BRK.B", "ZZZZ"])
def test_every_bar_passes_validation(
    provider: SyntheticProvider, market: MarketHoursManager, symbol: str, interval: str
) -> None:
    start, end = SIXTY_SESSIONS if interval != "1min" else WEEK
    bars = provider.fetch(symbol, start, end, interval)
    checked = validate_bars(bars, symbol, market, interval)
    assert len(checked) == len(bars) > 0
    assert (bars["volume"] > 0).all()


def test_a_session_opens_where_the_previous_one_closed(
    provider: SyntheticProvider, market: MarketHoursManager
) -> None:
    bars = provider.fetch("AAPL", *SIXTY_SESSIONS, "30min")
    bars["day"] = bars["ts"].dt.tz_convert(market.tz).dt.date
    days = bars.groupby("day").agg(first_open=("open", "first"), last_close=("close", "last"))
    consecutive = [
        (a, b)
        for a, b in zip(days.index[:-1], days.index[1:], strict=True)
        if np.busday_count(a, b) == 1  # no holiday between them
    ]
    assert len(consecutive) > 50
    for a, b in consecutive:
        assert days.loc[b, "first_open"] == pytest.approx(days.loc[a, "last_close"], abs=0.011)


@pytest.mark.parametrize("symbol", ["AAPL", "MSFT", "SPY", "TSLA"])
def test_sixty_sessions_hold_both_up_and_down_trending_stretches(
    provider: SyntheticProvider, symbol: str
) -> None:
    bars = provider.fetch(symbol, *SIXTY_SESSIONS, "30min")
    closes = bars.groupby(bars["ts"].dt.date)["close"].last()
    assert len(closes) == 60
    five_day = np.log(closes).diff(5).dropna()
    assert five_day.max() > 0.03, "no rise of 3 % over five sessions"
    assert five_day.min() < -0.03, "no fall of 3 % over five sessions"


def test_any_ticker_works_and_the_symbol_column_carries_it(provider: SyntheticProvider) -> None:
    bars = provider.fetch("ZZ-TOP.X", *WEEK, "30min")
    assert set(bars["symbol"]) == {"ZZ-TOP.X"}


def test_a_naive_window_is_rejected(provider: SyntheticProvider) -> None:
    with pytest.raises(InvalidInput, match="start"):
        provider.fetch("AAPL", datetime(2026, 11, 23), datetime(2026, 11, 24, tzinfo=UTC), "30min")
