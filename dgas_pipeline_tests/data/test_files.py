"""The files provider: one Parquet or CSV file per symbol, filtered to the window."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from dgas_pipeline.data import FilesProvider, ProviderError, SyntheticProvider, validate_bars
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.market import MarketHoursManager

WEEK = (datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 28, tzinfo=UTC))


@pytest.fixture(scope="module")
def week_bars(market: MarketHoursManager) -> pd.DataFrame:
    return SyntheticProvider(market, seed=3).fetch("ACME", *WEEK, "30min")


def write_csv(path: Path, bars: pd.DataFrame, zone: str = "America/New_York") -> None:
    """The way people export: local ISO times with their offset, capitalised headers."""
    out = bars.drop(columns=["symbol"]).rename(columns=str.capitalize)
    out["Ts"] = bars["ts"].dt.tz_convert(zone).map(lambda t: t.isoformat())
    out.rename(columns={"Ts": "Timestamp"}).to_csv(path, index=False)


def test_parquet_file_is_read(
    tmp_path: Path, week_bars: pd.DataFrame, market: MarketHoursManager
) -> None:
    week_bars.drop(columns=["symbol"]).to_parquet(tmp_path / "ACME.parquet")
    bars = FilesProvider(tmp_path).fetch("ACME", *WEEK, "30min")
    pd.testing.assert_frame_equal(bars, week_bars, check_dtype=False)
    assert len(validate_bars(bars, "ACME", market, "30min")) == 46


def test_csv_with_local_offsets_and_capitalised_headers_is_read(
    tmp_path: Path, week_bars: pd.DataFrame
) -> None:
    write_csv(tmp_path / "ACME.csv", week_bars)
    bars = FilesProvider(tmp_path).fetch("ACME", *WEEK, "30min")
    assert list(bars["ts"]) == list(week_bars["ts"])
    assert str(bars["ts"].dtype) == "datetime64[ns, UTC]"
    assert bars["close"].tolist() == week_bars["close"].tolist()


def test_csv_times_in_utc_with_z_suffix_are_read(tmp_path: Path, week_bars: pd.DataFrame) -> None:
    out = week_bars.drop(columns=["symbol"])
    out["ts"] = out["ts"].map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"))
    out.to_csv(tmp_path / "ACME.csv", index=False)
    bars = FilesProvider(tmp_path).fetch("ACME", *WEEK, "30min")
    assert list(bars["ts"]) == list(week_bars["ts"])


def test_csv_across_a_dst_change_reads_both_offsets(
    tmp_path: Path, market: MarketHoursManager
) -> None:
    # 2026-11-01: New York leaves daylight time; the file mixes -04:00 and -05:00.
    start, end = datetime(2026, 10, 29, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC)
    expected = SyntheticProvider(market).fetch("DST", start, end, "1h")
    write_csv(tmp_path / "DST.csv", expected)
    assert "-04:00" in (tmp_path / "DST.csv").read_text()
    assert "-05:00" in (tmp_path / "DST.csv").read_text()
    bars = FilesProvider(tmp_path).fetch("DST", start, end, "1h")
    assert list(bars["ts"]) == list(expected["ts"])
    validate_bars(bars, "DST", market, "1h")


def test_window_keeps_bars_starting_in_start_inclusive_end_exclusive(
    tmp_path: Path, week_bars: pd.DataFrame
) -> None:
    week_bars.to_parquet(tmp_path / "ACME.parquet")
    start = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # a bar starts exactly here
    end = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)  # and one here, excluded
    bars = FilesProvider(tmp_path).fetch("ACME", start, end, "30min")
    assert [t.strftime("%H:%M") for t in bars["ts"]] == ["15:00", "15:30", "16:00", "16:30"]
    assert list(bars.index) == [0, 1, 2, 3]


def test_rows_in_any_order_come_back_sorted(tmp_path: Path, week_bars: pd.DataFrame) -> None:
    week_bars.iloc[::-1].to_parquet(tmp_path / "ACME.parquet")
    bars = FilesProvider(tmp_path).fetch("ACME", *WEEK, "30min")
    assert bars["ts"].is_monotonic_increasing


def test_parquet_wins_over_csv(tmp_path: Path, week_bars: pd.DataFrame) -> None:
    week_bars.to_parquet(tmp_path / "ACME.parquet")
    write_csv(tmp_path / "ACME.csv", week_bars.assign(close=week_bars["close"] + 1))
    bars = FilesProvider(tmp_path).fetch("ACME", *WEEK, "30min")
    assert bars["close"].tolist() == week_bars["close"].tolist()


def test_a_missing_file_is_a_provider_error(tmp_path: Path) -> None:
    with pytest.raises(ProviderError, match=r"files: NOPE: no file .*NOPE\.parquet, NOPE\.csv"):
        FilesProvider(tmp_path).fetch("NOPE", *WEEK, "30min")


def test_a_file_without_a_needed_column_is_a_provider_error(
    tmp_path: Path, week_bars: pd.DataFrame
) -> None:
    week_bars.drop(columns=["volume"]).to_csv(tmp_path / "ACME.csv", index=False)
    with pytest.raises(ProviderError, match=r"lacks column.*volume"):
        FilesProvider(tmp_path).fetch("ACME", *WEEK, "30min")


def test_a_corrupt_parquet_file_is_a_provider_error(tmp_path: Path) -> None:
    (tmp_path / "ACME.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(ProviderError, match=r"cannot read ACME\.parquet"):
        FilesProvider(tmp_path).fetch("ACME", *WEEK, "30min")


def test_unparseable_times_are_a_provider_error(tmp_path: Path) -> None:
    (tmp_path / "ACME.csv").write_text("ts,open,high,low,close,volume\nyesterday,1,1,1,1,1\n")
    with pytest.raises(ProviderError, match="not ISO 8601"):
        FilesProvider(tmp_path).fetch("ACME", *WEEK, "30min")


def test_a_symbol_cannot_name_a_file_outside_the_directory(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="symbol"):
        FilesProvider(tmp_path / "bars").fetch("../secrets", *WEEK, "30min")
