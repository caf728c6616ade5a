"""`python -m dgas_pipeline_tests.reliability.barrier_dgas ARGS`: `dgas ARGS` with one
injected fault-timing hook, for the concurrency test.

Each process stops in its `signals` step right after it read the stored signals and before
it writes its own, until `DGAS_TEST_BARRIER_PARTIES` processes have arrived (or
`DGAS_TEST_BARRIER_TIMEOUT` seconds passed). So every racing run has decided that the bar's
signals are new, and each goes on to notify them: the worst case of two runs of one bar,
reached on every run of the test instead of by chance. Nothing else of `dgas` changes.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

BARRIER_DIR_ENV = "DGAS_TEST_BARRIER_DIR"
PARTIES_ENV = "DGAS_TEST_BARRIER_PARTIES"
TIMEOUT_ENV = "DGAS_TEST_BARRIER_TIMEOUT"


def install() -> None:
    from dgas_pipeline import analysis

    directory = Path(os.environ[BARRIER_DIR_ENV])
    parties = int(os.environ.get(PARTIES_ENV, "2"))
    timeout = float(os.environ.get(TIMEOUT_ENV, "60"))
    real = analysis.aggregate_signals
    arrived: list[bool] = []

    def aggregate_after_everyone_read(*args: Any, **kwargs: Any) -> Any:
        if not arrived:
            arrived.append(True)
            mine = directory / str(os.getpid())
            mine.touch()
            started = time.monotonic()
            while len(list(directory.iterdir())) < parties:
                if time.monotonic() - started > timeout:
                    break
                time.sleep(0.02)
            # How long this process waited: the test reads it (a timeout is a failure there).
            mine.write_text(f"{time.monotonic() - started:.2f}", encoding="utf-8")
        return real(*args, **kwargs)

    analysis.aggregate_signals = aggregate_after_everyone_read


if __name__ == "__main__":
    install()
    from dgas_pipeline.cli.main import run

    run()
