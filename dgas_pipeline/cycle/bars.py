"""The first step of a cycle: its symbols, their bars, and the run's RUNNING rows."""

from __future__ import annotations

import pandas as pd

from dgas_pipeline.cycle import mirror
from dgas_pipeline.cycle.history import fetch_history
from dgas_pipeline.cycle.services import CycleServices
from dgas_pipeline.cycle.stage import StepResult, timed
from dgas_pipeline.cycle.symbols import cap_symbols, cycle_symbols
from dgas_pipeline.market.bars import Bar


def fetch_cycle_bars(
    services: CycleServices, run: mirror.RunIdentity, cycle_bars: list[Bar], requested: list[str]
) -> StepResult[pd.DataFrame]:
    """Validated base bars each cycle may use (its history up to its bar's end, no later),
    of `requested` or else the cycle's symbols; a symbol without bars is an error line."""
    wanted = list(requested) or cycle_symbols(services)
    symbols, cut = cap_symbols(wanted, services.settings.max_symbols_per_cycle)
    engine = services.engine()
    mirror.mark_running(engine, run, symbols_requested=len(wanted))
    with timed("data_fetch_ms") as stage:
        frame, fetched = fetch_history(services, symbols, cycle_bars)
    errors = [f"{symbol}: {message}" for symbol, message in sorted(fetched.errors.items())]
    cuts = [cut] if cut else []
    stage.warn(*cuts, *(f"bars skipped for {line}" for line in errors))
    stage.record(engine, run, [*cuts, *errors], symbols_processed=len(fetched.symbols))
    return stage.result(
        frame,
        symbols_requested=len(wanted),
        symbols_processed=len(fetched.symbols),
        symbols_failed=sorted(fetched.errors),
        providers_used=fetched.provider_used,
        rows=len(frame),
    )
