"""Frames between assets as Parquet files, one name per partition, read back for ranges too.

Pickle would tie stored frames to library versions and run arbitrary code on load; Parquet
keeps dtypes (tz-aware timestamps included) and is readable by any analyst tool. A range run
(a backfill of sessions in one run) writes a frame with a `partition_key` column as ONE file,
hard-linked under every partition's name: one Parquet write per asset and run instead of one
per bar (a year's backfill has 3,276 bars). Reading a partition (a later live run, a retry)
reads the file its name points to and keeps that partition's rows; a range read reads each
distinct file once. A live run replaces its own partition's name with a file of its own,
leaving the range's other partitions as they were.

Columns of nested documents (a signal's `pattern_context`) are stored as JSON text and decoded
on read: Arrow would turn them into structs (every row gaining the keys of every other row)
holding NumPy arrays instead of lists, so what a later step reads would not be what was written.
"""

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import PrivateAttr

PARTITION_COLUMN = "partition_key"
JSON_COLUMNS_KEY = b"dgas.json_columns"


class ParquetIOManager(dg.ConfigurableIOManager):
    """Stores `pd.DataFrame` outputs under `base_dir/<asset>/<partition>.parquet`."""

    base_dir: str
    _last_read: dict[dg.AssetKey, tuple[tuple[tuple[str, int, int, int], ...], pd.DataFrame]] = (
        PrivateAttr(default_factory=dict)
    )

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        if obj is None:
            return
        if not isinstance(obj, pd.DataFrame):
            raise TypeError(f"{context.asset_key.to_user_string()}: expected a DataFrame")
        if not context.has_asset_partitions:
            self._write([self._path(context.asset_key, None)], obj)
            return
        keys = context.asset_partition_keys
        if len(keys) == 1 and PARTITION_COLUMN not in obj.columns:
            self._write([self._path(context.asset_key, keys[0])], obj)
            return
        if PARTITION_COLUMN not in obj.columns:
            raise ValueError(
                f"{context.asset_key.to_user_string()}: a range output needs a "
                f"'{PARTITION_COLUMN}' column to split by"
            )
        self._write([self._path(context.asset_key, key) for key in keys], obj)
        context.add_output_metadata({"partitions_written": len(keys), "rows": len(obj)})

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        asset_key = context.asset_key
        if not context.has_asset_partitions:
            paths = [self._path(asset_key, None)]
        else:
            paths = [self._path(asset_key, k) for k in context.asset_partition_keys]
        # Several steps of a run read the same input (a cycle's bars feed four): read the
        # files once while they stay as written. Frames are copy-on-write (pandas 3), so a
        # step cannot change what the next one gets; one frame per asset bounds the memory.
        stamp = tuple(_stamp(path) for path in paths)
        cached = self._last_read.get(asset_key)
        if cached is not None and cached[0] == stamp:
            return cached[1].copy(deep=False)
        keys = context.asset_partition_keys if context.has_asset_partitions else [None]
        frame = _read_partitions(list(zip(paths, stamp, keys, strict=True)))
        self._last_read[asset_key] = (stamp, frame)
        return frame.copy(deep=False)

    def _path(self, asset_key: dg.AssetKey, partition_key: str | None) -> Path:
        name = (partition_key or "__all__").replace(":", "")
        return Path(self.base_dir).joinpath(*asset_key.path, f"{name}.parquet")

    @staticmethod
    def _write(paths: list[Path], frame: pd.DataFrame) -> None:
        """One file, under every name of `paths`, each name replaced atomically."""
        paths[0].parent.mkdir(parents=True, exist_ok=True)
        # Names of their own: two runs of one partition at once must not share a temporary
        # file (one would rename the other's away and fail).
        tmp = paths[0].with_name(f"{paths[0].name}.{uuid.uuid4().hex}.tmp")
        nested = [c for c in frame.columns if _is_nested(frame[c])]
        encoded = frame.assign(**{c: frame[c].map(_dump_json) for c in nested})
        table = pa.Table.from_pandas(encoded, preserve_index=False)
        metadata = {**(table.schema.metadata or {}), JSON_COLUMNS_KEY: json.dumps(nested).encode()}
        try:
            pq.write_table(table.replace_schema_metadata(metadata), tmp)
            for path in paths:
                # atomic: a crashed run never leaves half a file behind
                _link(tmp, path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")).replace(path)
        finally:
            tmp.unlink(missing_ok=True)  # nor a failed write its temporary file


def _link(source: Path, target: Path) -> Path:
    """`target` as a hard link of `source` (a copy where the filesystem has no links)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    return target


def _read_partitions(
    parts: list[tuple[Path, tuple[str, int, int, int], str | None]],
) -> pd.DataFrame:
    """The rows of these (path, stamp, partition key) parts, in partition order: each
    distinct file read once, keeping the rows of the partitions asked for."""
    files: dict[int, tuple[Path, list[int]]] = {}
    for position, (path, stamp, _key) in enumerate(parts):
        files.setdefault(stamp[1], (path, []))[1].append(position)
    keys = [key for _, _, key in parts]
    frames: list[pd.DataFrame] = []
    order: list[np.ndarray] = []
    for path, positions in files.values():
        frame = _read(path)
        if PARTITION_COLUMN in frame.columns and keys[0] is not None:
            at = _positions(frame[PARTITION_COLUMN], {keys[p]: p for p in positions})
            if (at < 0).any():
                frame, at = frame[at >= 0].reset_index(drop=True), at[at >= 0]
            order.append(at)
        else:  # a live run's file: its one partition
            order.append(np.full(len(frame), positions[0], dtype=np.int64))
        frames.append(frame)
    nonempty = [f for f in frames if len(f)]
    if len(nonempty) <= 1:
        return nonempty[0] if nonempty else frames[0]
    frame = pd.concat(nonempty, ignore_index=True)
    rank = np.concatenate([o for o, f in zip(order, frames, strict=True) if len(f)])
    if (np.diff(rank) < 0).any():  # as a read of each partition's file in turn would be
        frame = frame.iloc[np.argsort(rank, kind="stable")].reset_index(drop=True)
    return frame


def _positions(column: pd.Series, wanted: dict[str, int]) -> np.ndarray:
    """Each row's position among the partitions asked for, -1 for the others: looked up once
    per distinct key (a range file holds ~100 keys over millions of rows), not per row."""
    codes, uniques = pd.factorize(column)
    lookup = np.array([wanted.get(key, -1) for key in uniques] + [-1], dtype=np.int64)
    return lookup[codes]  # a missing key's code, -1, takes the last entry


def _read(path: Path) -> pd.DataFrame:
    table = pq.read_table(path)
    nested = json.loads((table.schema.metadata or {}).get(JSON_COLUMNS_KEY, b"[]"))
    frame = table.to_pandas()
    return frame.assign(**{c: frame[c].map(_load_json) for c in nested})


def _stamp(path: Path) -> tuple[str, int, int, int]:
    """What changes when a file is replaced (each write is a new file renamed into place)."""
    stat = path.stat()
    return (str(path), stat.st_ino, stat.st_mtime_ns, stat.st_size)


def _is_nested(column: pd.Series) -> bool:
    if column.dtype != object:
        return False
    # Pandas' C type inference answers for columns of one scalar type (strings, dates)
    # without a Python loop over every value; dicts and lists only ever infer as "mixed".
    if not pd.api.types.infer_dtype(column, skipna=True).startswith("mixed"):
        return False
    return any(isinstance(v, dict | list) for v in column)


def _dump_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=_plain)


def _load_json(value: str | None) -> Any:
    return None if value is None else json.loads(value)


def _plain(value: Any) -> Any:
    """NumPy scalars and arrays, timestamps: what JSON cannot take as they are."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
