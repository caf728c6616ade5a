"""Bars from a directory of files, one per symbol: the provider for exports and research data.

`<SYMBOL>.parquet` wins over `<SYMBOL>.csv`. Columns: `ts` (or `timestamp`) = bar start, ISO
8601 with an offset (`2026-11-27T09:30:00-05:00`) or UTC (`...Z`); a time without an offset is
read as UTC, and if it was really exchange-local the bars fall off the session grid and
validation says so. Header case does not matter. Rows may come in any order.

`fetch_many` reads the Parquet files of many symbols with pyarrow in a few threads and hands
them on as one frame; a file pyarrow cannot take as plain numbers and times (a CSV, text
prices, a string ts) is read the one-symbol way, so it says what it would say alone.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from dgas_pipeline.data.provider import (
    VALUE_COLUMNS,
    BarBatch,
    ProviderError,
    check_symbol,
    check_window,
    empty_raw_frame,
)

TS_COLUMNS = ("ts", "timestamp")
SUFFIXES = (".parquet", ".csv")
_UTC_NS = pa.timestamp("ns", "UTC")
# Plain columns in a numpy form: bar starts (int64 ns, UTC) and the five values (float64).
_Columns = tuple[np.ndarray, dict[str, np.ndarray]]


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

    def fetch_many(
        self, symbols: Sequence[str], start: datetime, end: datetime, interval: timedelta | str
    ) -> BarBatch:
        """What `fetch` gives each symbol, as one frame, and each symbol's ProviderError."""
        wanted = [check_symbol(s, f"symbols[{i}]") for i, s in enumerate(symbols)]
        start_ts, end_ts, step = check_window(start, end, interval)

        def one(symbol: str) -> _Columns | pd.DataFrame | ProviderError:
            try:
                path = self.path_for(symbol)
                fast = _parquet_columns(path, start_ts.value, end_ts.value)
                return fast if fast is not None else self.fetch(symbol, start_ts, end_ts, step)
            except ProviderError as err:
                return err

        # pyarrow decodes without the GIL: a few threads overlap the files' decoding and I/O.
        with ThreadPoolExecutor(min(4, os.cpu_count() or 1), thread_name_prefix="files") as pool:
            outcomes = dict(zip(wanted, pool.map(one, wanted), strict=True))
        errors = {s: o.message for s, o in outcomes.items() if isinstance(o, ProviderError)}
        plain = {s: o for s, o in outcomes.items() if isinstance(o, tuple) and len(o[0])}
        frames = [o for o in outcomes.values() if isinstance(o, pd.DataFrame) and len(o)]
        if plain:
            frames.insert(0, _frame_of(plain))
        bars = pd.concat(frames, ignore_index=True) if frames else empty_raw_frame()
        return BarBatch(bars, errors)

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


def _parquet_columns(path: Path, start_ns: int, end_ns: int) -> _Columns | None:
    """The bars of a Parquet file starting in [start, end), sorted, as `fetch` would read them;
    None when the file is not plainly times and numbers (or not Parquet): read it with `fetch`.
    """
    if path.suffix != ".parquet":
        return None
    try:
        # From bytes in memory: pyarrow's file-system layer costs more than the read itself.
        table = pq.ParquetFile(pa.py_buffer(path.read_bytes())).read(use_threads=False)
    except (OSError, pa.ArrowException):
        return None  # `fetch` reads it again and words the error
    names = [str(n).strip().lower() for n in table.column_names]
    if len(set(names)) != len(names):
        return None
    table = table.rename_columns(names)
    ts_column = next((c for c in TS_COLUMNS if c in names), None)
    if ts_column is None or any(c not in names for c in VALUE_COLUMNS):
        return None
    ts_type = table.schema.field(ts_column).type
    value_types = [table.schema.field(c).type for c in VALUE_COLUMNS]
    if not pa.types.is_timestamp(ts_type) or not all(
        pa.types.is_integer(t) or pa.types.is_floating(t) for t in value_types
    ):
        return None
    try:
        # A naive ts is UTC, as `fetch` reads it; casts that would lose a value raise.
        ts = _as(table.column(ts_column), _UTC_NS)
        values = {c: _as(table.column(c), pa.float64()) for c in VALUE_COLUMNS}
    except pa.ArrowException:
        return None
    ns = ts.to_numpy(zero_copy_only=False).view(np.int64)  # a null is NaT: the window drops it
    keep = np.flatnonzero((ns >= start_ns) & (ns < end_ns))
    order = keep[np.argsort(ns[keep], kind="stable")]
    return ns[order], {c: v.to_numpy(zero_copy_only=False)[order] for c, v in values.items()}


def _as(column: pa.ChunkedArray, kind: pa.DataType) -> pa.Array:
    return (column if column.type == kind else column.cast(kind)).combine_chunks()


def _frame_of(plain: dict[str, _Columns]) -> pd.DataFrame:
    """Raw bars of the symbols read plainly, symbol after symbol."""
    lengths = [len(ns) for ns, _ in plain.values()]
    ns = np.concatenate([ns for ns, _ in plain.values()])
    return pd.DataFrame(
        {
            "symbol": np.repeat(np.array(list(plain), dtype=object), lengths),
            "ts": pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC"),
            **{
                c: np.concatenate([values[c] for _, values in plain.values()])
                for c in VALUE_COLUMNS
            },
        }
    )


def _to_utc(column: pd.Series) -> pd.Series:
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        return column.dt.tz_convert("UTC").dt.as_unit("ns")
    if pd.api.types.is_datetime64_dtype(column.dtype):
        return column.dt.tz_localize("UTC").dt.as_unit("ns")
    return pd.to_datetime(column, utc=True, format="ISO8601").dt.as_unit("ns")
