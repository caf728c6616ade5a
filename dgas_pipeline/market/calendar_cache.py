"""A built exchange calendar kept on disk, so a process loads it instead of building it.

Building XNYS from 2016 to two years ahead costs ~0.2 s of pandas holiday rules in every
process that needs the clock: each `dgas` command, the code server and every run worker the
daemon starts. Loading the pickled calendar costs ~0.015 s. The file's name holds everything
the calendar is built from (exchange, range, the exchange_calendars, pandas and Python
versions), so a changed input is another file, never a stale one. A file that cannot be read
back as that calendar is rebuilt and replaced; a directory that cannot be written costs only
the build. The directory is the user's own cache (`DGAS_CACHE_DIR`, else
`$XDG_CACHE_HOME/dgas_pipeline`, else `~/.cache/dgas_pipeline`): only this user's processes
write the files it unpickles.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Final

import exchange_calendars as xcals
import pandas as pd

CACHE_DIR_ENV: Final = "DGAS_CACHE_DIR"

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """Where built calendars are kept."""
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dgas_pipeline"


def cache_file(exchange: str, start: date, end: date) -> Path:
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    name = f"{exchange}-{start}-{end}-xcals{xcals.__version__}-pandas{pd.__version__}-py{python}"
    return cache_dir() / f"{name}.pickle"


def cached_calendar(
    exchange: str, start: date, end: date, build: Callable[[], xcals.ExchangeCalendar]
) -> xcals.ExchangeCalendar:
    """The calendar `build` makes, read from the cache when an earlier process kept it."""
    try:
        path = cache_file(exchange, start, end)
    except (RuntimeError, KeyError):  # no home directory to find (a bare service account)
        return build()
    found = _read(path)
    if found is not None and _is_calendar_of(found, start, end):
        return found
    calendar = build()
    _write(path, calendar)
    return calendar


def _read(path: Path) -> object | None:
    try:
        with path.open("rb") as file:
            return pickle.load(file)  # noqa: S301 - written by this user's processes only
    except FileNotFoundError:
        return None
    except Exception as err:  # a truncated or foreign file: rebuilt and replaced
        log.info("calendar cache %s unreadable (%s): rebuilding it", path, err)
        return None


def _is_calendar_of(found: object, start: date, end: date) -> bool:
    """A file renamed or edited by hand must not pass for the calendar asked for."""
    return (
        isinstance(found, xcals.ExchangeCalendar)
        and found.first_session.date() >= start
        and found.last_session.date() <= end
        and len(found.sessions) > 0
    )


def _write(path: Path, calendar: xcals.ExchangeCalendar) -> None:
    """Written to a private name, then renamed: a process reading meanwhile sees the whole
    file or none."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(pickle.dumps(calendar, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(partial, path)
    except OSError as err:  # read-only home, full disk: the build stands, uncached
        log.info("calendar cache %s not written (%s)", path, err)
        with contextlib.suppress(OSError):  # no partial file left behind, if one was made
            partial.unlink(missing_ok=True)
