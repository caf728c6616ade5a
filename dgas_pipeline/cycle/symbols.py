"""Which symbols a cycle analyses: the configured watchlist, every enabled `every_bar`
watchlist, capped at `max_symbols_per_cycle`."""

from __future__ import annotations

from dgas_pipeline.cycle.services import CycleServices
from dgas_pipeline.watchlists import store as watchlist_store
from dgas_pipeline.watchlists.schedule import every_bar_symbols

# A run's error line names at most this many of the symbols cut by max_symbols_per_cycle.
DROPPED_SHOWN = 10


def cycle_symbols(services: CycleServices) -> list[str]:
    """The configured watchlist plus every enabled `every_bar` watchlist, read each run so a
    watchlist added over the API joins the next cycle without a reload. Not yet capped at
    max_symbols_per_cycle: `cap_symbols` cuts it, with a warning in the run's errors."""
    with services.engine().connect() as conn:
        extra = every_bar_symbols(watchlist_store.list_watchlists(conn, enabled_only=True))
    return list(dict.fromkeys([*services.settings.symbols, *extra]))


def cap_symbols(wanted: list[str], limit: int) -> tuple[list[str], str | None]:
    """The first `limit` of a cycle's symbols, and the run's warning line when some are cut.

    Cut, not refused: the list grows at run time (an `every_bar` watchlist added over the
    API), and the cycle of the others must still run. The warning makes the run PARTIAL.
    """
    if len(wanted) <= limit:
        return wanted, None
    dropped = wanted[limit:]
    shown = ", ".join(dropped[:DROPPED_SHOWN])
    if len(dropped) > DROPPED_SHOWN:
        shown += f" and {len(dropped) - DROPPED_SHOWN} more"
    return wanted[:limit], (
        f"symbols: {len(wanted)} requested, max_symbols_per_cycle is {limit}: "
        f"dropped {len(dropped)} ({shown})"
    )
