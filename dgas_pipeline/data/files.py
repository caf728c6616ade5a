"""Bars from a directory of files, one per symbol: the provider for exports and research data.

`<SYMBOL>.parquet` wins over `<SYMBOL>.csv`. Columns: `ts` (or `timestamp`) = bar start, ISO
8601 with an offset (`2026-11-27T09:30:00-05:00`) or UTC (`...Z`); a time without an offset is
read as UTC, and if it was really exchange-local the bars fall off the session grid and
validation says so. Header case does not matter. Rows may come in any order.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from dgas_pipeline.data.provider import (
    VALUE_COLUMNS,
    ProviderError,
    check_symbol,
    check_window,
)

TS_COLUMNS = ("ts", "timestamp")
SUFFIXES = (".parquet", ".csv")


class FilesProvider:
    """Reads the file on every fetch: exports are rewritten between runs."""

    def __init__(self, directory: Path | str, name: str = "files") -> None:
        self.directory = Path(directory)
        self.name = name

    def fetch(
        self, symbol: str, start: datetime, end: datetime, interval: timedelta | str
    ) -> pd.DataFrame:
        check_symbol(symbol)
        start_ts, end_ts, _ = check_window(start, end, interval)
        path = self.path_for(symbol)
        frame = self._read(path, symbol)
        in_window = (frame["ts"] >= start_ts) & (frame["ts"] < end_ts)
        frame = frame[in_window].sort_values("ts", kind="stable").reset_index(drop=True)
        return frame

    def path_for(self, symbol: str) -> Path:
        for suffix in SUFFIXES:
            path = self.directory / f"{symbol}{suffix}"
            if path.is_file():
                return path
        tried = ", ".join(f"{symbol}{s}" for s in SUFFIXES)
        raise ProviderError(symbol, self.name, f"no file in {self.directory} (tried {tried})")

    def _read(self, path: Path, symbol: str) -> pd.DataFrame:
        try:
            raw = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        except Exception as err:  # any reader failure means this provider cannot serve it
            raise ProviderError(symbol, self.name, f"cannot read {path.name}: {err}") from err
        raw.columns = [str(c).strip().lower() for c in raw.columns]
        ts_column = next((c for c in TS_COLUMNS if c in raw.columns), None)
        missing = [c for c in VALUE_COLUMNS if c not in raw.columns]
        if ts_column is None or missing:
            lacking = ([] if ts_column else ["ts"]) + missing
            raise ProviderError(
                symbol,
                self.name,
                f"{path.name} lacks column(s) {', '.join(lacking)} "
                "(expected ts or timestamp, open, high, low, close, volume)",
            )
        try:
            ts = _to_utc(raw[ts_column])
        except (ValueError, TypeError) as err:
            raise ProviderError(
                symbol, self.name, f"{path.name}: column {ts_column} is not ISO 8601 times: {err}"
            ) from err
        frame = pd.DataFrame({"symbol": symbol, "ts": ts})
        for column in VALUE_COLUMNS:
            frame[column] = raw[column].to_numpy()
        return frame


def _to_utc(column: pd.Series) -> pd.Series:
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        return column.dt.tz_convert("UTC").dt.as_unit("ns")
    if pd.api.types.is_datetime64_dtype(column.dtype):
        return column.dt.tz_localize("UTC").dt.as_unit("ns")
    return pd.to_datetime(column, utc=True, format="ISO8601").dt.as_unit("ns")
