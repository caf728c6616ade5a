"""Bar validation: every way a provider's bars can be wrong is caught and named precisely."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from dgas_pipeline.data import InvalidBars, SyntheticProvider, validate_bars
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market import MarketHoursManager

SYMBOL = "ACME"


@pytest.fixture(scope="module")
def good(market: MarketHoursManager) -> pd.DataFrame:
    """Four sessions around Thanksgiving 2026, incl. the early close on Friday (46 bars)."""
    bars = SyntheticProvider(market).fetch(
        SYMBOL, datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 28, tzinfo=UTC), "30min"
    )
    assert len(bars) == 46
    return bars


def at(local: str) -> pd.Timestamp:
    return pd.Timestamp(local, tz="America/New_York").tz_convert("UTC")


def set_value(column: str, row: int, value: object) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        if column != "ts":
            frame[column] = frame[column].astype(object if isinstance(value, str) else "float64")
        frame.loc[row, column] = value
        return frame

    return change


def set_ts(row: int, local: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return set_value("ts", row, at(local))


def swap_rows(a: int, b: int) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        order = list(range(len(frame)))
        order[a], order[b] = order[b], order[a]
        return frame.iloc[order].reset_index(drop=True)

    return change


def append_bar(local: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        extra = frame.iloc[[-1]].assign(ts=at(local))
        return pd.concat([frame, extra], ignore_index=True)

    return change


def drop_column(column: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda frame: frame.drop(columns=[column])


def naive_ts(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(ts=frame["ts"].dt.tz_localize(None))


def empty(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.iloc[0:0]


def other_symbol(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame.loc[3, "symbol"] = "OTHER"
    return frame


def make_high_below_low(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame.loc[7, "high"] = frame.loc[7, "low"] - 0.5
    return frame


def make_high_below_close(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    top = max(frame.loc[7, "open"], frame.loc[7, "close"])
    frame.loc[7, "high"] = top - 0.001
    frame.loc[7, "low"] = min(frame.loc[7, "low"], top - 0.002)
    return frame


def make_low_above_open(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    bottom = min(frame.loc[7, "open"], frame.loc[7, "close"])
    frame.loc[7, "low"] = bottom + 0.001
    return frame


# (case, change, field the message must name, words it must contain)
BAD_BARS = [
    ("nan close", set_value("close", 5, np.nan), "close", "finite"),
    ("inf high", set_value("high", 5, np.inf), "high", "finite"),
    ("nan volume", set_value("volume", 5, np.nan), "volume", "finite"),
    ("zero open", set_value("open", 5, 0.0), "open", "positive"),
    ("negative low", set_value("low", 5, -1.0), "low", "positive"),
    ("text price", set_value("close", 5, "n/a"), "close", "not a number"),
    ("high below low", make_high_below_low, "high", "below low"),
    ("high below close", make_high_below_close, "high", "max(open, close)"),
    ("low above open", make_low_above_open, "low", "min(open, close)"),
    ("negative volume", set_value("volume", 5, -10.0), "volume", "negative"),
    ("duplicate ts", set_ts(6, "2026-11-23 12:00"), "ts", "twice"),
    ("ts going back", swap_rows(4, 5), "ts", "not after"),
    ("ts off the grid", set_ts(2, "2026-11-23 10:45"), "ts", "not a bar start"),
    ("bar before the open", set_ts(0, "2026-11-23 09:00"), "ts", "not a bar start"),
    ("bar at the close", append_bar("2026-11-27 16:00"), "ts", "not a bar start"),
    ("bar after an early close", append_bar("2026-11-27 13:00"), "ts", "not a bar start"),
    ("bar on thanksgiving", set_ts(39, "2026-11-26 15:30"), "ts", "Thanksgiving"),
    ("bar on a saturday", append_bar("2026-11-28 10:00"), "ts", "closed (weekend)"),
    ("bar outside the calendar", append_bar("2031-01-02 10:00"), "ts", "2031-01-02T15:00"),
    ("naive ts", naive_ts, "ts", "naive"),
    ("missing ts", set_value("ts", 3, pd.NaT), "ts", "NaT"),
    ("empty frame", empty, "bars", "expected at least one"),
    ("missing column", drop_column("low"), "columns", "lack low"),
    ("another symbol's bar", other_symbol, "symbol", "OTHER"),
]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [pytest.param(change, field, words, id=case) for case, change, field, words in BAD_BARS],
)
def test_bad_bars_are_rejected_naming_symbol_field_and_value(
    good: pd.DataFrame,
    market: MarketHoursManager,
    change: Callable[[pd.DataFrame], pd.DataFrame],
    field: str,
    words: str,
) -> None:
    with pytest.raises(InvalidBars) as caught:
        validate_bars(change(good), SYMBOL, market, "30min")
    message = str(caught.value)
    assert message.startswith(f"{SYMBOL}: {field}")
    assert words in message
    assert caught.value.symbol == SYMBOL
    assert caught.value.field == field
    assert isinstance(caught.value, InvalidInput)  # the CLI prints it as one line


def test_a_bad_bar_message_names_its_time_and_value(
    good: pd.DataFrame, market: MarketHoursManager
) -> None:
    bad = set_value("high", 5, 1.5)(good)
    with pytest.raises(InvalidBars) as caught:
        validate_bars(bad, SYMBOL, market, "30min")
    assert str(caught.value).startswith(f"{SYMBOL}: high at 2026-11-23T17:00:00+00:00: 1.5 ")


def test_a_ts_off_the_grid_names_the_session_hours(
    good: pd.DataFrame, market: MarketHoursManager
) -> None:
    bad = set_ts(2, "2026-11-23 10:45")(good)
    with pytest.raises(InvalidBars, match=r"09:30–16:00 America/New_York, every 30min"):
        validate_bars(bad, SYMBOL, market, "30min")


def test_the_interval_decides_the_grid(good: pd.DataFrame, market: MarketHoursManager) -> None:
    with pytest.raises(InvalidBars, match="every 1h"):
        validate_bars(good, SYMBOL, market, "1h")


def test_good_bars_come_back_in_the_raw_contract(
    good: pd.DataFrame, market: MarketHoursManager
) -> None:
    shuffled_index = good.set_axis(range(100, 100 + len(good)))
    ints = shuffled_index.assign(volume=shuffled_index["volume"].astype("int64"))
    out = validate_bars(ints, SYMBOL, market, "30min")
    assert list(out.columns) == ["symbol", "ts", "open", "high", "low", "close", "volume"]
    assert list(out.index) == list(range(len(good)))
    assert str(out["ts"].dtype) == "datetime64[ns, UTC]"
    assert all(out[c].dtype == np.float64 for c in ["open", "high", "low", "close", "volume"])
    assert (out["close"].to_numpy() == good["close"].to_numpy()).all()


def test_times_in_another_zone_are_accepted_and_returned_in_utc(
    good: pd.DataFrame, market: MarketHoursManager
) -> None:
    local = good.assign(ts=good["ts"].dt.tz_convert("America/New_York"))
    out = validate_bars(local, SYMBOL, market, "30min")
    assert (out["ts"] == good["ts"]).all()
    assert str(out["ts"].dt.tz) == "UTC"


def test_a_frame_without_a_symbol_column_gets_one(
    good: pd.DataFrame, market: MarketHoursManager
) -> None:
    out = validate_bars(good.drop(columns=["symbol"]), SYMBOL, market, "30min")
    assert set(out["symbol"]) == {SYMBOL}


def test_zero_volume_is_fine(good: pd.DataFrame, market: MarketHoursManager) -> None:
    quiet = set_value("volume", 5, 0.0)(good)
    assert len(validate_bars(quiet, SYMBOL, market, "30min")) == len(good)
