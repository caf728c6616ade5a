"""`dgas run-once`: one cycle, executed here, recorded on the instance in `$DAGSTER_HOME`.

It executes in this process (no daemon needed) but is recorded on the instance like any
other run, so it shows in the UI and is mirrored by the same assets and hooks.
"""

from typing import Any

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from dgas_pipeline.cycle.services import CycleServices
from dgas_pipeline.cycle.symbols import cycle_symbols
from dgas_pipeline.defs.names import CYCLE_JOB, LAUNCHED_BY_TAG
from dgas_pipeline.market.bars import Bar
from dgas_pipeline.operate.instance import QUIET, load_code_location
from dgas_pipeline.operate.signals_report import cycle_signals
from dgas_pipeline.store import repositories as repo

TIMING_FIELDS = ("data_fetch_ms", "indicator_calc_ms", "signal_generation_ms", "notification_ms")


def run_once(bar: Bar, symbols: list[str] | None) -> dict[str, Any]:
    """Materialise the cycle of `bar` (the CLI has checked it is a partition); its summary."""
    location, defs, instance = load_code_location()
    run_config = {
        "ops": {"bars": {"config": {"symbols": symbols or []}}},
        **QUIET,
    }
    with instance:
        result = defs.resolve_job_def(CYCLE_JOB).execute_in_process(
            partition_key=bar.key,
            instance=instance,
            run_config=run_config,
            tags={LAUNCHED_BY_TAG: "cli"},
            raise_on_error=False,
        )
    unreadable: list[str] = []
    try:
        # The bar's signals of the symbols this run asked for: an earlier run of the bar for
        # other symbols stored its own, which are not this run's output.
        asked = symbols or cycle_symbols(CycleServices(location))
        with location.engine().connect() as conn:
            row = repo.get_run(conn, result.run_id, bar.key) or {}
            found = cycle_signals(conn, [bar.key], row.get("run_timestamp"), asked)
    except SQLAlchemyError as err:
        # The database went away during the run: say so (the run is FAILED in Dagster and
        # reconciled later), never a traceback instead of the summary.
        cause = err.orig if isinstance(err, DBAPIError) and err.orig else err
        first_line = (str(cause).splitlines() or [""])[0]
        unreadable = [f"run record unreadable: {type(cause).__name__}: {first_line}"]
        row, found = {}, []
    return {
        "run_id": result.run_id,
        "partition_key": bar.key,
        "bar_start": bar.start.isoformat(),
        "bar_end": bar.end.isoformat(),
        "status": row.get("status", "FAILED"),
        "dagster_success": result.success,
        "symbols_requested": row.get("symbols_requested", 0),
        "symbols_processed": row.get("symbols_processed", 0),
        "signals": row.get("signals_generated", 0),
        "timings_ms": {name: row.get(name) for name in (*TIMING_FIELDS, "execution_time_ms")},
        "errors": [*row.get("errors", []), *unreadable],
        # The signals themselves and each one's delivery per channel, from the delivery log.
        "signal_details": found,
    }
