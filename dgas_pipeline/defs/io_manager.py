"""Frames between assets as Parquet files, one per partition, read back for ranges too.

Pickle would tie stored frames to library versions and run arbitrary code on load; Parquet
keeps dtypes (tz-aware timestamps included) and is readable by any analyst tool. A range run
(a backfill of a whole session in one run) writes a frame with a `partition_key` column; it
is split so every partition has its own file, and a later single-partition run reads the same
file a live run would have written.

Columns of nested documents (a signal's `pattern_context`) are stored as JSON text and decoded
on read: Arrow would turn them into structs (every row gaining the keys of every other row)
holding NumPy arrays instead of lists, so what a later step reads would not be what was written.
"""

import json
import uuid
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

PARTITION_COLUMN = "partition_key"
JSON_COLUMNS_KEY = b"dgas.json_columns"


class ParquetIOManager(dg.ConfigurableIOManager):
    """Stores `pd.DataFrame` outputs under `base_dir/<asset>/<partition>.parquet`."""

    base_dir: str

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        if obj is None:
            return
        if not isinstance(obj, pd.DataFrame):
            raise TypeError(f"{context.asset_key.to_user_string()}: expected a DataFrame")
        if not context.has_asset_partitions:
            self._write(self._path(context.asset_key, None), obj)
            return
        keys = context.asset_partition_keys
        if len(keys) == 1 and PARTITION_COLUMN not in obj.columns:
            self._write(self._path(context.asset_key, keys[0]), obj)
            return
        if PARTITION_COLUMN not in obj.columns:
            raise ValueError(
                f"{context.asset_key.to_user_string()}: a range output needs a "
                f"'{PARTITION_COLUMN}' column to split by"
            )
        groups = dict(tuple(obj.groupby(PARTITION_COLUMN, sort=False)))
        for key in keys:
            part = groups.get(key, obj.iloc[0:0])
            self._write(self._path(context.asset_key, key), part.reset_index(drop=True))
        context.add_output_metadata({"partitions_written": len(keys), "rows": len(obj)})

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        asset_key = context.asset_key
        if not context.has_asset_partitions:
            return _read(self._path(asset_key, None))
        frames = [_read(self._path(asset_key, k)) for k in context.asset_partition_keys]
        frames = [f for f in frames if len(f)]
        if not frames:
            return _read(self._path(asset_key, context.asset_partition_keys[0]))
        return pd.concat(frames, ignore_index=True)

    def _path(self, asset_key: dg.AssetKey, partition_key: str | None) -> Path:
        name = (partition_key or "__all__").replace(":", "")
        return Path(self.base_dir).joinpath(*asset_key.path, f"{name}.parquet")

    @staticmethod
    def _write(path: Path, frame: pd.DataFrame) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # A name of its own: two runs of one partition at once must not share a temporary
        # file (one would rename the other's away and fail).
        tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
        nested = [c for c in frame.columns if _is_nested(frame[c])]
        encoded = frame.assign(**{c: frame[c].map(_dump_json) for c in nested})
        table = pa.Table.from_pandas(encoded, preserve_index=False)
        metadata = {**(table.schema.metadata or {}), JSON_COLUMNS_KEY: json.dumps(nested).encode()}
        try:
            pq.write_table(table.replace_schema_metadata(metadata), tmp)
            tmp.replace(path)  # atomic: a crashed run never leaves half a file behind
        except BaseException:
            tmp.unlink(missing_ok=True)  # nor a failed write its temporary file
            raise


def _read(path: Path) -> pd.DataFrame:
    table = pq.read_table(path)
    nested = json.loads((table.schema.metadata or {}).get(JSON_COLUMNS_KEY, b"[]"))
    frame = table.to_pandas()
    return frame.assign(**{c: frame[c].map(_load_json) for c in nested})


def _is_nested(column: pd.Series) -> bool:
    return column.dtype == object and any(isinstance(v, dict | list) for v in column)


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
