"""Fetching many symbols at once gives, symbol by symbol, what fetching them one by one gives.

The reference is the one-symbol path: `provider.fetch` then `validate_window_bars` for each
symbol alone. Batched providers (synthetic, files), the fetcher's batch validation and a
provider without `fetch_many` must all agree with it: the same bars, bit for bit, and the
same error message for a bad symbol, whatever else is in the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dgas_pipeline.data import (
    RAW_COLUMNS,
    BarBatch,
    FilesProvider,
    InvalidBars,
    ProviderError,
    SyntheticProvider,
    fetch_bars,
    validate_window_bars,
)
from dgas_pipeline.market import MarketHoursManager
from dgas_pipeline_tests.data.test_validation import BAD_BARS

SYMBOLS = ["AAPL", "BRK.B", "I:SPX", "MSFT", "ZZZZ"]
WEEK = (datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 28, tzinfo=UTC))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# (window, interval): edges of the session grid a batch must cut like a single symbol.
WINDOWS = {
    "early close": (utc(2026, 11, 27), utc(2026, 11, 28), "30min"),
    "holiday inside": (utc(2026, 11, 25, 17), utc(2026, 11, 28), "1h"),
    "holiday only": (utc(2026, 11, 26), utc(2026, 11, 27), "30min"),
    "dst start": (utc(2026, 3, 6), utc(2026, 3, 10), "15min"),
    "dst end": (utc(2026, 10, 30, 18), utc(2026, 11, 3, 16), "30min"),
    "year end": (utc(2025, 12, 31), utc(2026, 1, 3), "5min"),
    "mid-session": (utc(2026, 11, 18, 16), utc(2026, 11, 18, 19), "10min"),
}


class OneByOne:
    """A provider without `fetch_many`: the fetcher asks it symbol by symbol."""

    def __init__(self, inner: SyntheticProvider | FilesProvider) -> None:
        self.inner = inner
        self.name = inner.name

    def fetch(
        self, symbol: str, start: datetime, end: datetime, interval: timedelta | str
    ) -> pd.DataFrame:
        return self.inner.fetch(symbol, start, end, interval)


class ChangedBatch:
    """The synthetic batch with symbol BAD's rows changed (or gone), or some symbols failing."""

    def __init__(
        self,
        change: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
        errors: dict[str, str] | None = None,
        name: str = "primary",
    ) -> None:
        self.inner = SyntheticProvider(MarketHoursManager(), seed=4)
        self.change = change
        self.errors = errors or {}
        self.name = name

    def fetch(
        self, symbol: str, start: datetime, end: datetime, interval: timedelta | str
    ) -> pd.DataFrame:
        return self.fetch_many([symbol], start, end, interval).bars

    def fetch_many(
        self, symbols: Sequence[str], start: datetime, end: datetime, interval: timedelta | str
    ) -> BarBatch:
        asked = [s for s in symbols if s not in self.errors]
        bars = self.inner.fetch_many(asked, start, end, interval).bars
        if self.change is not None:
            blocks = [bars[bars["symbol"] == s].reset_index(drop=True) for s in asked]
            bars = pd.concat(
                [self.change(b) if s == "BAD" else b for s, b in zip(asked, blocks, strict=True)],
                ignore_index=True,
            )
        return BarBatch(bars, {s: m for s, m in self.errors.items() if s in symbols})


Provider = OneByOne | ChangedBatch | SyntheticProvider | FilesProvider
Window = tuple[datetime, datetime, str]  # start, end, interval


def one_by_one(
    provider: Provider, symbols: list[str], window: Window, market: MarketHoursManager
) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """The reference: each symbol fetched and validated alone."""
    start, end, interval = window
    bars: dict[str, pd.DataFrame] = {}
    errors: dict[str, str] = {}
    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    for symbol in symbols:
        try:
            frame = provider.fetch(symbol, start, end, interval)
            bars[symbol] = validate_window_bars(frame, symbol, market, interval, start_ts, end_ts)
        except ProviderError as err:
            errors[symbol] = f"{provider.name}: {err.message}"
        except InvalidBars as err:
            errors[symbol] = f"{provider.name}: {err}"
    return bars, errors


def assert_same_as_one_by_one(
    provider: Provider, symbols: list[str], window: Window, market: MarketHoursManager
) -> None:
    result = fetch_bars([provider], symbols, *window, market)
    expected_bars, expected_errors = one_by_one(provider, symbols, window, market)
    assert result.errors == expected_errors
    assert result.symbols == [s for s in symbols if s in expected_bars]
    assert sorted(result.bars["symbol"].unique()) == sorted(expected_bars)
    for symbol, expected in expected_bars.items():
        got = result.bars[result.bars["symbol"] == symbol][RAW_COLUMNS].reset_index(drop=True)
        assert_frame_equal(got, expected, check_exact=True)


# -- the synthetic provider: batched, one by one and the frozen per-symbol reference ----------


@pytest.mark.parametrize("window", WINDOWS.values(), ids=WINDOWS.keys())
@pytest.mark.parametrize("batched", [True, False], ids=["fetch_many", "fetch"])
def test_synthetic_bars_fetched_together_equal_each_symbol_fetched_alone(
    market: MarketHoursManager, window: Window, batched: bool
) -> None:
    synthetic = SyntheticProvider(market, seed=9)
    provider = synthetic if batched else OneByOne(synthetic)
    assert_same_as_one_by_one(provider, SYMBOLS, window, market)


def test_a_symbol_gets_the_same_bars_in_a_batch_of_hundreds(market: MarketHoursManager) -> None:
    """More symbols than one block of the generator: every block boundary cuts cleanly."""
    provider = SyntheticProvider(market, seed=2)
    symbols = [f"S{i:03d}" for i in range(400)]
    day = (utc(2026, 11, 18), utc(2026, 11, 19))
    batch = provider.fetch_many(symbols, *day, "30min").bars
    assert batch["symbol"].tolist() == [s for s in symbols for _ in range(13)]
    for symbol in symbols[::37] + symbols[-3:]:
        alone = provider.fetch(symbol, *day, "30min")
        got = batch[batch["symbol"] == symbol].reset_index(drop=True)
        assert_frame_equal(got, alone, check_exact=True)


REFERENCE = Path(__file__).parent / "fixtures" / "synthetic_reference.parquet"
# The windows of REFERENCE: bars of the per-symbol generator as it was before symbols were
# generated together (commit 38cade4), one `SyntheticProvider(seed).fetch` per symbol.
LONGEST_TICKER = "ABCDEFGHIJ"
REFERENCE_SYMBOLS = ["AAPL", "BRK.B", "BF-B", "S0042", "ZZ-TOP.X", LONGEST_TICKER]
REFERENCE_CASES = {
    "cycle-2026-11-18": (0, "30min", utc(2026, 11, 5, 14, 30), utc(2026, 11, 18, 20, 30), 6),
    "thanksgiving-week": (7, "30min", utc(2026, 11, 23), utc(2026, 11, 30), 6),
    "across-holiday-mid-session": (0, "5min", utc(2026, 11, 25, 17), utc(2026, 11, 27, 17), 6),
    "early-close-1min": (0, "1min", utc(2026, 11, 27), utc(2026, 11, 28), 3),
    "dst-start": (1, "15min", utc(2026, 3, 6), utc(2026, 3, 10), 6),
    "dst-end": (2, "1h", utc(2026, 10, 30, 18), utc(2026, 11, 3, 16), 6),
    "year-end": (0, "10min", utc(2025, 12, 30), utc(2026, 1, 3), 6),
    "christmas-eve-4h": (5, "4h", utc(2025, 12, 22), utc(2025, 12, 27), 6),
    "sixty-sessions": (3, "30min", utc(2026, 8, 1), utc(2026, 10, 27), 2),
    "negative-seed-45min": (-9, "45min", utc(2024, 2, 26), utc(2024, 3, 2), 3),
}


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_parquet(REFERENCE)


@pytest.mark.parametrize("case", REFERENCE_CASES)
def test_synthetic_bars_are_bit_identical_to_the_frozen_per_symbol_reference(
    market: MarketHoursManager, reference: pd.DataFrame, case: str
) -> None:
    seed, interval, start, end, count = REFERENCE_CASES[case]
    symbols = REFERENCE_SYMBOLS[:count]
    provider = SyntheticProvider(market, seed=seed)
    expected = reference[reference["case"] == case].drop(columns=["case"])
    assert len(expected) > 0
    batch = provider.fetch_many(symbols, start, end, interval).bars
    assert_frame_equal(batch, expected.reset_index(drop=True), check_exact=True)
    for symbol in symbols:
        alone = provider.fetch(symbol, start, end, interval)
        mine = expected[expected["symbol"] == symbol].reset_index(drop=True)
        assert_frame_equal(alone, mine, check_exact=True)


# -- a bad symbol in a batch: its own error, the others untouched -----------------------------

# Whole-frame faults (a naive ts column, a missing column, a row of another symbol) are the
# batch's, not one symbol's: a one-symbol frame has them, a batch cannot single one out.
WHOLE_FRAME_FAULTS = {"naive ts", "missing column", "another symbol's bar"}
PER_SYMBOL_FAULTS = [case for case in BAD_BARS if case[0] not in WHOLE_FRAME_FAULTS]


@pytest.mark.parametrize("change", [pytest.param(c[1], id=c[0]) for c in PER_SYMBOL_FAULTS])
def test_a_bad_symbol_in_a_batch_gets_its_own_error_and_the_others_go_on(
    market: MarketHoursManager, change: Callable[[pd.DataFrame], pd.DataFrame]
) -> None:
    provider = ChangedBatch(change)
    symbols = ["AAA", "BAD", "CCC"]
    assert_same_as_one_by_one(provider, symbols, (*WEEK, "30min"), market)
    result = fetch_bars([provider], symbols, *WEEK, "30min", market)
    assert list(result.errors) == ["BAD"]
    assert result.errors["BAD"].startswith("primary: BAD: ")
    assert result.symbols == ["AAA", "CCC"]


def test_a_bad_symbol_in_a_batch_fails_over_alone(market: MarketHoursManager) -> None:
    primary = ChangedBatch(BAD_BARS[0][1])
    backup = SyntheticProvider(market, seed=4, name="backup")
    result = fetch_bars([primary, backup], ["AAA", "BAD", "CCC"], *WEEK, "30min", market)
    assert result.errors == {}
    assert result.provider_used == {"AAA": "primary", "BAD": "backup", "CCC": "primary"}
    alone = fetch_bars([backup], ["AAA", "BAD", "CCC"], *WEEK, "30min", market)
    assert_frame_equal(result.bars, alone.bars, check_exact=True)


def test_a_provider_error_for_one_symbol_of_a_batch_is_that_symbols_alone(
    market: MarketHoursManager,
) -> None:
    provider = ChangedBatch(errors={"BAD": "HTTP 404 (unknown ticker)"})
    result = fetch_bars([provider], ["AAA", "BAD", "CCC"], *WEEK, "30min", market)
    assert result.errors == {"BAD": "primary: HTTP 404 (unknown ticker)"}
    assert result.symbols == ["AAA", "CCC"]


def test_a_batch_provider_failing_as_a_whole_fails_every_symbol_over(
    market: MarketHoursManager,
) -> None:
    class Down(ChangedBatch):
        def fetch_many(self, symbols: Sequence[str], *args: object) -> BarBatch:
            raise ProviderError("*", self.name, "HTTP 503 (gave up)")

    backup = SyntheticProvider(market, seed=4, name="backup")
    result = fetch_bars([Down(), backup], ["AAA", "BBB"], *WEEK, "30min", market)
    assert result.provider_used == {"AAA": "backup", "BBB": "backup"}
    only = fetch_bars([Down()], ["AAA", "BBB"], *WEEK, "30min", market)
    assert only.errors == dict.fromkeys(["AAA", "BBB"], "primary: HTTP 503 (gave up)")


def test_rows_of_symbols_interleaved_in_a_batch_are_brought_together(
    market: MarketHoursManager,
) -> None:
    def interleave(bars: pd.DataFrame) -> pd.DataFrame:
        rank = bars.groupby("symbol", sort=False).cumcount()
        return bars.iloc[np.argsort(rank.to_numpy(), kind="stable")].reset_index(drop=True)

    class Interleaved(ChangedBatch):
        def fetch_many(self, *args: object) -> BarBatch:
            batch = super().fetch_many(*args)  # type: ignore[arg-type]
            return BarBatch(interleave(batch.bars), batch.errors)

    provider = Interleaved()
    assert interleave(provider.fetch_many(["A", "B"], *WEEK, "30min").bars)["symbol"].iloc[1] == "B"
    assert_same_as_one_by_one(provider, ["A", "B", "C"], (*WEEK, "30min"), market)


# -- the files provider: a directory of every kind of file -----------------------------------


def week(market: MarketHoursManager, symbol: str) -> pd.DataFrame:
    """Two weeks of bars around the test window, as an export would hold them."""
    bars = SyntheticProvider(market, seed=6).fetch(
        symbol, utc(2026, 11, 16), utc(2026, 12, 2), "30min"
    )
    return bars.drop(columns=["symbol"])


def parquet(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path, pd.DataFrame], None]:
    return lambda path, bars: change(bars).to_parquet(path.with_suffix(".parquet"))


def with_value(column: str, row: int, value: object) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(bars: pd.DataFrame) -> pd.DataFrame:
        bars = bars.copy()
        if isinstance(value, str):  # a text column, as Parquet holds no mixed column
            bars[column] = bars[column].astype(str)
        bars.loc[row, column] = value
        return bars

    return change


def csv_local(path: Path, bars: pd.DataFrame) -> None:
    out = bars.rename(columns=str.capitalize)
    out["Ts"] = bars["ts"].dt.tz_convert("America/New_York").map(lambda t: t.isoformat())
    out.to_csv(path.with_suffix(".csv"), index=False)


def corrupt(path: Path, bars: pd.DataFrame) -> None:
    path.with_suffix(".parquet").write_bytes(b"PAR1 not really")


# (kind, how to write a symbol's file): files a person may drop in the directory.
FILE_KINDS: dict[str, Callable[[Path, pd.DataFrame], None] | None] = {
    "parquet utc": parquet(lambda b: b),
    "parquet naive utc ts": parquet(lambda b: b.assign(ts=b["ts"].dt.tz_localize(None))),
    "parquet local ms ts": parquet(
        lambda b: b.assign(ts=b["ts"].dt.tz_convert("America/New_York").dt.as_unit("ms"))
    ),
    "parquet int volume": parquet(lambda b: b.assign(volume=b["volume"].astype("int64"))),
    "parquet float32 prices": parquet(lambda b: b.astype({"close": "float32"})),
    "parquet shuffled rows": parquet(lambda b: b.sample(frac=1.0, random_state=3)),
    "parquet capitalised timestamp": parquet(
        lambda b: b.rename(columns={"ts": "Timestamp", "close": "CLOSE"})
    ),
    "parquet extra column": parquet(lambda b: b.assign(vwap=b["close"], note="x")),
    "parquet string ts": parquet(lambda b: b.assign(ts=b["ts"].map(lambda t: t.isoformat()))),
    "parquet missing ts": parquet(with_value("ts", 40, pd.NaT)),
    "parquet duplicate bar": parquet(lambda b: pd.concat([b, b.iloc[[40]]])),
    "parquet text price": parquet(with_value("close", 40, "n/a")),
    "parquet null close": parquet(with_value("close", 40, np.nan)),
    "parquet inverted bar": parquet(with_value("high", 40, 0.5)),
    "parquet off the grid": parquet(
        with_value("ts", 40, pd.Timestamp("2026-11-24 15:45", tz="UTC"))
    ),
    "parquet lacking volume": parquet(lambda b: b.drop(columns=["volume"])),
    "parquet no bars in window": parquet(lambda b: b.iloc[:5]),
    "csv local offsets": csv_local,
    "corrupt parquet": corrupt,
    "no file": None,
}


@pytest.mark.parametrize("kind", FILE_KINDS)
def test_files_read_together_equal_each_file_read_alone(
    tmp_path: Path, market: MarketHoursManager, kind: str
) -> None:
    write = FILE_KINDS[kind]
    for symbol in ["AAA", "ZZZ"]:
        week(market, symbol).to_parquet(tmp_path / f"{symbol}.parquet")
    if write is not None:
        write(tmp_path / "ODD", week(market, "ODD"))
    files = FilesProvider(tmp_path)
    symbols = ["AAA", "ODD", "ZZZ"]
    assert_same_as_one_by_one(files, symbols, (*WEEK, "30min"), market)
    assert_same_as_one_by_one(OneByOne(files), symbols, (*WEEK, "30min"), market)
    result = fetch_bars([files], symbols, *WEEK, "30min", market)
    assert {"AAA", "ZZZ"} <= set(result.symbols)


@pytest.mark.parametrize("window", WINDOWS.values(), ids=WINDOWS.keys())
def test_files_written_from_synthetic_bars_give_the_synthetic_bars(
    tmp_path: Path, market: MarketHoursManager, window: Window
) -> None:
    synthetic = SyntheticProvider(market, seed=8)
    start, end, interval = window
    span = (start - timedelta(days=3), end + timedelta(days=3))
    for symbol in SYMBOLS:
        bars = synthetic.fetch(symbol, *span, interval).drop(columns=["symbol"])
        bars.to_parquet(tmp_path / f"{symbol}.parquet")
    from_files = fetch_bars([FilesProvider(tmp_path)], SYMBOLS, *window, market)
    generated = fetch_bars([synthetic], SYMBOLS, *window, market)
    assert_frame_equal(from_files.bars, generated.bars, check_exact=True)
    assert from_files.errors.keys() == generated.errors.keys()


def test_hundreds_of_files_of_every_kind_read_together_equal_each_read_alone(
    tmp_path: Path, market: MarketHoursManager
) -> None:
    """More files than one run of a reading thread: a file of every kind, at every position
    of a run, gets what it gets alone (bars or error), and so do the plain files around it."""
    kinds = list(FILE_KINDS)
    symbols = [f"S{i:03d}" for i in range(240)]
    odd = {symbol: kinds[i % len(kinds)] for i, symbol in enumerate(symbols[3::7])}
    assert set(odd.values()) == set(kinds)
    for symbol in symbols:
        write = FILE_KINDS[odd.get(symbol, "parquet utc")]
        if write is not None:
            write(tmp_path / symbol, week(market, symbol))
    files = FilesProvider(tmp_path)
    assert_same_as_one_by_one(files, symbols, (*WEEK, "30min"), market)
    batch = files.fetch_many(symbols, *WEEK, "30min")
    assert "S000" in set(batch.bars["symbol"]) and "S239" in set(batch.bars["symbol"])
