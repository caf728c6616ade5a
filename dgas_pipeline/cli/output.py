"""What a command prints: one JSON document with `--json`, else its renderer's text; times
in the exchange's zone; a note on a terminal while a long step runs."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any


def emit(result: dict[str, Any], *, as_json: bool, render: Callable[[dict[str, Any]], str]) -> None:
    """`--json`: indented on a terminal, where a person reads it; one compact line in a pipe,
    where a program does (Python's C encoder: two years of `plan` in 0.03 s, not 0.2 s)."""
    if as_json:
        indent = 2 if sys.stdout.isatty() else None
        sys.stdout.write(json.dumps(result, indent=indent) + "\n")
    else:
        sys.stdout.write(render(result) + "\n")


@contextmanager
def progress_note(text: str) -> Iterator[None]:
    """`text` on stderr while a long step runs, erased when it ends, on a terminal only:
    in a pipe or a log, stderr carries errors and nothing else."""
    if not sys.stderr.isatty():
        yield
        return
    sys.stderr.write(f"{text} ...")
    sys.stderr.flush()
    try:
        yield
    finally:
        sys.stderr.write("\r\033[K")  # back to the line's start, erase it
        sys.stderr.flush()


def iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z") if at else None
