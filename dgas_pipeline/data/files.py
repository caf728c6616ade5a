"""Bars from a directory of files, one per symbol: the provider for exports and research data.

`<SYMBOL>.parquet` wins over `<SYMBOL>.csv`. Columns: `ts` (or `timestamp`) = bar start, ISO
8601 with an offset (`2026-11-27T09:30:00-05:00`) or UTC (`...Z`); a time without an offset is
read as UTC, and if it was really exchange-local the bars fall off the session grid and
validation says so. Header case does not matter. Rows may come in any order.

`fetch_many` reads the Parquet files of many symbols with pyarrow in a few threads and hands
them on as one frame; a file pyarrow cannot take as plain numbers and times (a CSV, text
prices, a string ts) is read the one-symbol way, so it says what it would say alone. Per file
it only decodes the six columns; casting, the window and the sort are done once over all the
files of one schema (for 5,000 symbols, per-file numpy work cost more than the decoding).
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
# Runs of symbols per reading thread: enough to even out slow files, few enough to be cheap.
RUNS_PER_THREAD = 8


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

        def one(symbol: str) -> pa.Table | pd.DataFrame | ProviderError:
            try:
                path = self.path_for(symbol)
                fast = _plain_table(path)
                return fast if fast is not None else self.fetch(symbol, start_ts, end_ts, step)
            except ProviderError as err:
                return err

        def run_of(chunk: Sequence[str]) -> list[pa.Table | pd.DataFrame | ProviderError]:
            return [one(symbol) for symbol in chunk]

        # pyarrow decodes without the GIL: a few threads overlap the files' decoding and I/O.
        # Each takes runs of symbols: a future per file cost a fifth of the fetch's CPU.
        workers = min(4, os.cpu_count() or 1)
        size = max(1, -(-len(wanted) // (workers * RUNS_PER_THREAD)))
        chunks = [wanted[i : i + size] for i in range(0, len(wanted), size)]
        with ThreadPoolExecutor(workers, thread_name_prefix="files") as pool:
            read = [outcome for run in pool.map(run_of, chunks) for outcome in run]
        outcomes = dict(zip(wanted, read, strict=True))
        errors = {s: o.message for s, o in outcomes.items() if isinstance(o, ProviderError)}
        tables = {s: o for s, o in outcomes.items() if isinstance(o, pa.Table)}
        frames = [o for o in outcomes.values() if isinstance(o, pd.DataFrame) and len(o)]
        plain, unplain = _plain_frame(tables, start_ts.value, end_ts.value)
        for symbol in unplain:  # a cast would lose a value: read alone, as `fetch` reads it
            try:
                alone = self.fetch(symbol, start_ts, end_ts, step)
            except ProviderError as err:
                errors[symbol] = err.message
                continue
            if len(alone):
                frames.append(alone)
        if len(plain):
            frames.insert(0, plain)
        bars = pd.concat(frames, ignore_index=True) if frames else empty_raw_frame()
        return BarBatch(bars, {s: errors[s] for s in wanted if s in errors})

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


def _plain_table(path: Path) -> pa.Table | None:
    """A Parquet file's ts and five value columns, named so, as pyarrow decoded them; None
    when the file is not plainly times and numbers (or not Parquet): read it with `fetch`.
    """
    if path.suffix != ".parquet":
        return None
    try:
        # From bytes in memory: pyarrow's file-system layer costs more than the read itself.
        parquet = pq.ParquetFile(pa.py_buffer(path.read_bytes()))
        schema = parquet.schema_arrow
        names = [str(n).strip().lower() for n in schema.names]
        if len(set(names)) != len(names):
            return None
        original = dict(zip(names, schema.names, strict=True))
        ts_column = next((c for c in TS_COLUMNS if c in names), None)
        if ts_column is None or any(c not in names for c in VALUE_COLUMNS):
            return None
        columns = [original[ts_column], *(original[c] for c in VALUE_COLUMNS)]
        types = [schema.field(c).type for c in columns]
        if not pa.types.is_timestamp(types[0]) or not all(
            pa.types.is_integer(t) or pa.types.is_floating(t) for t in types[1:]
        ):
            return None
        table = parquet.read(columns=columns, use_threads=False)
    except (OSError, pa.ArrowException):
        return None  # `fetch` reads it again and words the error
    return table.rename_columns(["ts", *VALUE_COLUMNS])


def _plain_frame(
    tables: dict[str, pa.Table], start_ns: int, end_ns: int
) -> tuple[pd.DataFrame, list[str]]:
    """Raw bars in [start, end) of these symbols' tables, symbol after symbol (in the order
    given), each sorted by time; and the symbols whose values a cast would change (text-free
    but e.g. an int64 beyond float64's exact range, or times beyond ns): `fetch` reads them.

    Tables of one schema are cast together: a few casts, not six per symbol.
    """
    order = {symbol: i for i, symbol in enumerate(tables)}
    groups: dict[pa.Schema, list[str]] = {}
    for symbol, table in tables.items():
        groups.setdefault(table.schema, []).append(symbol)
    parts: list[tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]] = []
    unplain: list[str] = []
    for symbols in groups.values():
        plain = _plain_arrays(pa.concat_tables([tables[s] for s in symbols]))
        if plain is None and len(symbols) > 1:  # find the culprits
            for symbol in symbols:
                alone = _plain_arrays(tables[symbol])
                if alone is None:
                    unplain.append(symbol)
                else:
                    owner = np.full(len(alone[0]), order[symbol])
                    parts.append((owner, *alone))
            continue
        if plain is None:
            unplain.extend(symbols)
            continue
        lengths = [tables[s].num_rows for s in symbols]
        owner = np.repeat(np.array([order[s] for s in symbols]), lengths)
        parts.append((owner, *plain))
    if not parts:
        return empty_raw_frame(), unplain
    owner = np.concatenate([p[0] for p in parts])
    ns = np.concatenate([p[1] for p in parts])
    keep = np.flatnonzero((ns >= start_ns) & (ns < end_ns))  # a null ts (NaT) falls out
    rows = keep[np.lexsort((ns[keep], owner[keep]))]  # by symbol, then time; stable
    names = np.array(list(tables), dtype=object)
    frame = pd.DataFrame(
        {
            "symbol": names[owner[rows]],
            "ts": pd.DatetimeIndex(ns[rows].view("datetime64[ns]")).tz_localize("UTC"),
            **{c: np.concatenate([p[2][c] for p in parts])[rows] for c in VALUE_COLUMNS},
        }
    )
    return frame, unplain


def _plain_arrays(table: pa.Table) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
    """Bar starts (int64 ns, UTC) and the five values (float64) of a `_plain_table`; None
    when a cast would lose a value (a naive ts is UTC, as `fetch` reads it)."""
    try:
        ts = _as(table.column("ts"), _UTC_NS)
        values = {c: _as(table.column(c), pa.float64()) for c in VALUE_COLUMNS}
    except pa.ArrowException:
        return None
    ns = ts.to_numpy(zero_copy_only=False).view(np.int64)  # a null is NaT: the window drops it
    return ns, {c: v.to_numpy(zero_copy_only=False) for c, v in values.items()}


def _as(column: pa.ChunkedArray, kind: pa.DataType) -> pa.Array:
    return (column if column.type == kind else column.cast(kind)).combine_chunks()


def _to_utc(column: pd.Series) -> pd.Series:
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        return column.dt.tz_convert("UTC").dt.as_unit("ns")
    if pd.api.types.is_datetime64_dtype(column.dtype):
        return column.dt.tz_localize("UTC").dt.as_unit("ns")
    return pd.to_datetime(column, utc=True, format="ISO8601").dt.as_unit("ns")
