"""A watchlist's own cycle: a watchlist with an `HH:MM` schedule runs at that time.

It covers the bar last due at its planned time, through the same steps as the cycle (fetch,
signals, notifications), and is mirrored like a cycle (kind `watchlist`, partition key
`<name>:<date>`), plus its status on the watchlist's row.
"""

from __future__ import annotations

from datetime import date

from dgas_pipeline.cycle import mirror
from dgas_pipeline.cycle.history import fetch_history
from dgas_pipeline.cycle.notifications import notify_signals
from dgas_pipeline.cycle.services import CycleServices
from dgas_pipeline.cycle.signals import find_and_store_signals
from dgas_pipeline.cycle.symbols import cap_symbols
from dgas_pipeline.market.bars import Bar
from dgas_pipeline.store.engine import write_transaction
from dgas_pipeline.watchlists import store as watchlist_store


def watchlist_partition_key(name: str, day: date) -> str:
    """The mirror's key of a watchlist's run on a session: `<name>:<YYYY-MM-DD>`."""
    return f"{name}:{day.isoformat()}"


def run_watchlist(
    services: CycleServices, run: mirror.RunIdentity, name: str, bar: Bar
) -> tuple[str, int]:
    """The watchlist's cycle of `bar`, mirrored and recorded on its row: (status, signals)."""
    engine = services.engine()
    with engine.connect() as conn:
        watchlist = watchlist_store.get_watchlist(conn, name)
    wanted = list(watchlist.symbols)
    symbols, cut = cap_symbols(wanted, services.settings.max_symbols_per_cycle)
    mirror.mark_running(engine, run, symbols_requested=len(wanted))
    frame, fetched = fetch_history(services, symbols, [bar])
    kept, failures = find_and_store_signals(services, frame, [bar], run.dagster_run_id)
    report = notify_signals(services, kept)
    errors = [
        *([cut] if cut else []),
        *(f"{s}: {m}" for s, m in sorted(fetched.errors.items())),
        *(failure.line for failure in failures),
        *report.errors,
    ]
    status = mirror.finish(
        engine,
        run,
        services.market,
        services.settings.plan_settings,
        errors=errors,
        symbols_processed=len(fetched.symbols) - len(failures),
        signals_generated=len(kept),
    )
    record_watchlist_run(services, name, run.dagster_run_id, status)
    return status, len(kept)


def record_watchlist_run(services: CycleServices, name: str, run_id: str, status: str) -> None:
    """The run's status on the watchlist's row (what `dgas watchlist show` prints)."""
    with write_transaction(services.engine()) as conn:
        watchlist_store.record_run(conn, name, run_id, status, services.now())
