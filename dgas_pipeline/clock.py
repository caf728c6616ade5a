"""The pipeline's "now": the one clock every question to the exchange calendar asks.

The sensor, staleness, run-once's default instant, `dgas calendar`'s today, the API's
`/status` and the run mirror's next launch all read `now()`. Production reads the system
clock. Two test-only settings move it, for end-to-end tests that run the real daemon inside
a past session (a future instant would have no partitions yet); unit tests pin instants with
time-machine instead. The daemon, its code server and its run workers inherit the
environment, so the sensor and the runs all see the same clock.

- `DGAS_CLOCK_FILE`: a file holding one ISO-8601 instant with its UTC offset. While set, the
  clock stands still at that instant and moves only when the file is rewritten (a test steps
  it, atomically: temp file + `os.replace`). It is read on every call: a small file, and a
  stepped clock must never serve a stale instant. It wins over the offset.
- `DGAS_CLOCK_OFFSET_SECONDS`: the system clock shifted by that many seconds (it keeps running).
"""

import math
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.input_files import read_text

CLOCK_OFFSET_ENV = "DGAS_CLOCK_OFFSET_SECONDS"
CLOCK_FILE_ENV = "DGAS_CLOCK_FILE"
MAX_OFFSET_SECONDS = 100 * 366 * 86400
"""A century either way: enough to reach any session the calendar covers, and far inside
what `timedelta` and `datetime` can hold, so a typo never overflows into a traceback."""


def now() -> datetime:
    """The pipeline's instant (UTC): the system clock unless a test setting moves it."""
    clock_file = os.environ.get(CLOCK_FILE_ENV)
    if clock_file:
        return read_clock_file(Path(clock_file))
    return system_now() + timedelta(seconds=clock_offset_seconds())


def clock_offset_seconds() -> float:
    """`DGAS_CLOCK_OFFSET_SECONDS` as a finite number of seconds within a century (0 unset)."""
    text = os.environ.get(CLOCK_OFFSET_ENV, "").strip()
    if not text:
        return 0.0
    try:
        offset = float(text)
    except ValueError:
        offset = math.nan
    if not math.isfinite(offset) or abs(offset) > MAX_OFFSET_SECONDS:
        raise InvalidInput(
            CLOCK_OFFSET_ENV,
            text,
            f"is not a finite number of seconds within ±{MAX_OFFSET_SECONDS} (e.g. -3600.5)",
        )
    return offset


def system_now() -> datetime:
    """The unshifted system clock. Dagster stamps its run records with it, so a run's duration
    and the order of run ends are measured on it; never a question to the calendar."""
    return datetime.now(UTC)


def read_clock_file(path: Path) -> datetime:
    """The instant a stepped clock stands at; a bad file names itself and its content.

    Read through the one reader of files people name, so a device, a FIFO or a huge file is
    refused instead of read forever."""
    text = read_text(path, CLOCK_FILE_ENV).strip()
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise InvalidInput(
            CLOCK_FILE_ENV,
            text,
            f"in {path} is not an ISO-8601 instant with a UTC offset "
            "(e.g. 2026-11-27T10:00:00-05:00)",
        )
    return instant.astimezone(UTC)


def write_clock_file(path: Path, at: datetime) -> None:
    """Step a file clock to `at`, atomically: a reader sees the old instant or the new one."""
    if at.tzinfo is None:
        raise InvalidInput("at", at.isoformat(), "must carry a UTC offset")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(at.isoformat(), encoding="utf-8")
    os.replace(temporary, path)
