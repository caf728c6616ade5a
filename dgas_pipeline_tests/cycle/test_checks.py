"""The bars check names, per partition of a range, the symbols without a row at its bar."""

from datetime import timedelta

import pandas as pd

from dgas_pipeline.cycle.checks import check_bars
from dgas_pipeline.market import MarketHoursManager
from dgas_pipeline.market.bars import bar_for_key

INTERVAL = timedelta(minutes=30)
KEYS = ["2026-11-20-09:30", "2026-11-20-10:00", "2026-11-20-10:30"]


def frame(market: MarketHoursManager, skip: set[tuple[str, str]]) -> pd.DataFrame:
    """Each partition's history (its bar and the one before) for three symbols, less `skip`
    (partition, symbol) rows at the partition's own bar."""
    rows = []
    for key in KEYS:
        start = bar_for_key(market, key, INTERVAL).start
        for symbol in ("AAA", "BBB", "CCC"):
            for ts in (start - INTERVAL, start):
                if ts == start and (key, symbol) in skip:
                    continue
                rows.append({"symbol": symbol, "ts": ts, "partition_key": key})
    bars = pd.DataFrame(rows).assign(open=10.0, high=11.0, low=9.0, close=10.5, volume=100)
    bars["ts"] = pd.to_datetime(bars["ts"], utc=True)
    return bars


def test_symbols_missing_their_bar_are_named_per_partition() -> None:
    market = MarketHoursManager("XNYS")
    skip = {(KEYS[2], "CCC"), (KEYS[0], "BBB"), (KEYS[2], "AAA")}
    passed, found = check_bars(frame(market, skip), market, INTERVAL)
    assert not passed
    assert found == {
        "ohlc_consistent": True,
        "symbols_missing_the_bar": {KEYS[0]: ["BBB"], KEYS[2]: ["AAA", "CCC"]},
    }


def test_a_complete_range_passes_and_an_empty_frame_misses_nothing() -> None:
    market = MarketHoursManager("XNYS")
    bars = frame(market, set())
    assert check_bars(bars, market, INTERVAL) == (
        True,
        {"ohlc_consistent": True, "symbols_missing_the_bar": {}},
    )
    assert check_bars(bars.iloc[:0], market, INTERVAL)[1]["symbols_missing_the_bar"] == {}
