"""The Parquet IO manager: what a step writes is what the next one reads, per partition.

Driven through real (tiny) partitioned assets so Dagster hands the manager its contexts
as in a cycle: one key for a live run, a range for a backfill run.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from dgas_pipeline.defs.runtime import io_manager
from dgas_pipeline.defs.runtime.io_manager import PARTITION_COLUMN, ParquetIOManager
from dgas_pipeline_tests.defs.conftest import RANGE_END, RANGE_START

DAYS = dg.DailyPartitionsDefinition(start_date="2026-11-16", timezone="America/New_York")
KEYS = ["2026-11-16", "2026-11-17", "2026-11-18"]
EMPTY = "2026-11-17"  # a partition with nothing in it (no signal that bar)
SEEN: dict[tuple[str, ...], pd.DataFrame] = {}
WITH_COLUMN: dict[str, bool] = {"value": True}


def sample(keys: list[str], with_column: bool) -> pd.DataFrame:
    """Two rows per key (none for EMPTY): exchange-local times, nested documents, text."""
    rows: list[dict[str, Any]] = []
    for key in keys:
        if key == EMPTY:
            continue
        for minute, side in ((30, "LONG"), (0, "SHORT")):
            hour = 9 if minute == 30 else 10
            rows.append(
                {
                    "symbol": "AAPL" if side == "LONG" else "BRK.B",
                    "ts": pd.Timestamp(f"{key} {hour:02d}:{minute:02d}", tz="America/New_York"),
                    "close": 101.25 if side == "LONG" else 99.5,
                    "volume": 1200,
                    # Each row its own keys and lists: Arrow would make them one struct type.
                    "context": (
                        {"patterns": ["PLDOT_PUSH", "C_WAVE"], "zone": {"lower": 1.5}}
                        if side == "LONG"
                        else {"entry_zone": None, "htf_patterns": {"EXHAUST": -1}}
                    ),
                    **({PARTITION_COLUMN: key} if with_column else {}),
                }
            )
    frame = pd.DataFrame(rows)
    if not rows:
        frame = pd.DataFrame(columns=["symbol", "ts", "close", "volume", "context"])
    return frame


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def frames(context: dg.AssetExecutionContext) -> pd.DataFrame:
    return sample(list(context.partition_keys), WITH_COLUMN["value"])


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def echo(context: dg.AssetExecutionContext, frames: pd.DataFrame) -> None:
    SEEN[tuple(context.partition_keys)] = frames


SEEN_AGAIN: dict[tuple[str, ...], pd.DataFrame] = {}


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def echo_again(context: dg.AssetExecutionContext, frames: pd.DataFrame) -> None:
    """A second reader of `frames` in the same run (a cycle's bars have four)."""
    SEEN_AGAIN[tuple(context.partition_keys)] = frames


@pytest.fixture
def base_dir(tmp_path: Path) -> Iterator[Path]:
    SEEN.clear()
    WITH_COLUMN["value"] = True
    yield tmp_path / "frames"
    SEEN.clear()


def materialize(base: Path, *, key: str | None = None, keys: list[str] | None = None, **kw: Any):
    tags = {RANGE_START: keys[0], RANGE_END: keys[-1]} if keys else None
    return dg.materialize(
        kw.pop("assets", [frames, echo]),
        partition_key=key,
        tags=tags,
        resources={"io_manager": ParquetIOManager(base_dir=str(base))},
        **kw,
    )


def test_a_single_partition_round_trips_unchanged(base_dir: Path) -> None:
    WITH_COLUMN["value"] = False  # a live run's frame needs no partition column
    key = KEYS[0]

    assert materialize(base_dir, key=key).success

    expected = sample([key], with_column=False)
    assert (base_dir / "frames" / f"{key}.parquet").is_file()
    pd.testing.assert_frame_equal(SEEN[(key,)], expected)
    assert str(SEEN[(key,)]["ts"].dt.tz) == "America/New_York"  # not converted to UTC
    assert SEEN[(key,)]["context"].tolist() == expected["context"].tolist()


def test_a_range_output_is_one_file_named_per_partition_and_each_reads_its_own_rows(
    base_dir: Path,
) -> None:
    assert materialize(base_dir, keys=KEYS).success

    written = sorted((base_dir / "frames").iterdir())
    assert [p.name for p in written] == [f"{k}.parquet" for k in KEYS]
    assert len({p.stat().st_ino for p in written}) == 1  # one write, a name per partition
    whole = sample(KEYS, with_column=True)
    pd.testing.assert_frame_equal(SEEN[tuple(KEYS)], whole)
    # A later single-partition run reads exactly its own part of the range.
    for key in KEYS:
        assert materialize(base_dir, key=key, selection=[echo]).success
        own = whole[whole[PARTITION_COLUMN] == key].reset_index(drop=True)
        if key == EMPTY:
            assert len(SEEN[(key,)]) == 0
            assert list(SEEN[(key,)].columns) == list(whole.columns)
        else:
            pd.testing.assert_frame_equal(SEEN[(key,)], own)
            assert SEEN[(key,)]["context"].tolist() == own["context"].tolist()


def test_a_range_output_without_the_partition_column_is_refused(base_dir: Path) -> None:
    WITH_COLUMN["value"] = False

    with pytest.raises(ValueError, match="needs a 'partition_key' column"):
        materialize(base_dir, keys=KEYS)

    assert not (base_dir / "frames").exists() or not any((base_dir / "frames").iterdir())


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary_file(
    base_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = KEYS[0]
    assert materialize(base_dir, keys=[key]).success
    stored = base_dir / "frames" / f"{key}.parquet"
    before = stored.read_bytes()

    def disk_full(table: Any, where: Any, **kwargs: Any) -> None:
        Path(where).write_bytes(b"PAR1 half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(io_manager.pq, "write_table", disk_full)
    with pytest.raises(OSError, match="No space left"):
        materialize(base_dir, keys=[key], selection=[frames])

    assert stored.read_bytes() == before
    assert list(base_dir.rglob("*.tmp")) == []
    assert sorted(p.name for p in base_dir.rglob("*")) == [f"{key}.parquet", "frames"]


def test_steps_of_one_run_reading_the_same_input_read_its_files_once(
    base_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[Path] = []
    real_read = io_manager._read

    def counted(path: Path) -> pd.DataFrame:
        reads.append(path)
        return real_read(path)

    monkeypatch.setattr(io_manager, "_read", counted)
    assert materialize(base_dir, keys=KEYS, assets=[frames, echo, echo_again]).success
    assert len(reads) == 1  # the range's one file, for both readers
    pd.testing.assert_frame_equal(SEEN[tuple(KEYS)], sample(KEYS, with_column=True))
    pd.testing.assert_frame_equal(SEEN_AGAIN[tuple(KEYS)], SEEN[tuple(KEYS)])

    # The next run reads the files as they are now: a live run rewrote one partition.
    WITH_COLUMN["value"] = False
    assert materialize(base_dir, key=KEYS[0], assets=[frames]).success
    assert materialize(base_dir, keys=KEYS, assets=[frames, echo], selection=[echo]).success
    assert len(reads) == 3  # the live run's file and the range's, once
    assert SEEN[tuple(KEYS)][PARTITION_COLUMN].isna().sum() == 2  # its two rows, no column
    # in partition order, as before the live run: its rows first, then the range's others
    assert SEEN[tuple(KEYS)]["ts"].is_monotonic_increasing
