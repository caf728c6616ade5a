"""Recording one step of a run: its time, what it adds to the run mirror, what it shows.

Every step of the cycle, the EOD and a watchlist run does the same bookkeeping: time the
work, write its figures and errors to the run's `prediction_runs` rows, and hand Dagster
metadata and warnings to show. `Stage` is that bookkeeping, once; metadata stays plain
values (numbers, text, lists, `Markdown`, `Path`) that the Dagster layer converts.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Engine

from dgas_pipeline.cycle import mirror

T = TypeVar("T")


@dataclass(frozen=True)
class Markdown:
    """Metadata shown as Markdown (a table, a chart inlined as a data URL)."""

    text: str


@dataclass(frozen=True)
class StepResult(Generic[T]):
    """A step's output, its metadata and the warnings to log."""

    value: T
    metadata: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


@dataclass
class Stage:
    """The bookkeeping of one step; `timing` is the mirror column its milliseconds go to."""

    timing: str
    warnings: list[str] = field(default_factory=list)
    _started: float = field(default_factory=time.perf_counter)
    _ended: float | None = None

    @property
    def ms(self) -> int:
        """Milliseconds of the timed work; frozen when it ended, so metadata and the mirror
        say the same."""
        end = self._ended if self._ended is not None else time.perf_counter()
        return int((end - self._started) * 1000)

    def warn(self, *lines: str) -> None:
        self.warnings.extend(dict.fromkeys(lines))

    def record(
        self,
        engine: Engine,
        run: mirror.RunIdentity,
        errors: Sequence[str] = (),
        *,
        partition_errors: Mapping[str, Sequence[str]] | None = None,
        partition_fields: Mapping[str, Mapping[str, Any]] | None = None,
        **figures: Any,
    ) -> None:
        """Add this step's time, figures and errors to the run's mirror rows (`partition_*`:
        to one bar's row only)."""
        mirror.update(
            engine,
            run,
            errors,
            partition_errors=partition_errors,
            partition_fields=partition_fields,
            **{self.timing: self.ms},
            **figures,
        )

    def result(self, value: T, **metadata: Any) -> StepResult[T]:
        """The step's output with its metadata, its time included."""
        return StepResult(value, {**metadata, self.timing: self.ms}, list(self.warnings))


@contextmanager
def timed(timing: str) -> Iterator[Stage]:
    """A stage whose clock runs for the block (the work), not for its bookkeeping."""
    stage = Stage(timing)
    try:
        yield stage
    finally:
        stage._ended = time.perf_counter()
