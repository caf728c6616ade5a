"""The prediction cycle as assets: bars -> indicators -> signals -> notifications, and alerts.

Partitioned by the planner's cycle bars. A run may cover one bar (live) or a range of bars
(a backfilled session in one run). Bodies only wire: each calls one step of `cycle/` with the
run's services and identity, and shows its metadata.
"""

import dagster as dg
import pandas as pd

from dgas_pipeline.cycle.alerts_pass import run_alert_rules
from dgas_pipeline.cycle.bars import fetch_cycle_bars
from dgas_pipeline.cycle.indicators import compute_snapshots
from dgas_pipeline.cycle.notifications import notify_cycle
from dgas_pipeline.cycle.signals import find_signals
from dgas_pipeline.defs.automation.reconcile import mirror_failure
from dgas_pipeline.defs.names import CYCLE_GROUP, SESSIONS_PER_RANGE_RUN
from dgas_pipeline.defs.runtime.metadata import materialized, output
from dgas_pipeline.defs.runtime.resources import (
    DatabaseResource,
    LocationParam,
    ProvidersResource,
    cycle_services,
)
from dgas_pipeline.defs.runtime.runs import cycle_run, run_bars

PROVIDER_RETRY = dg.RetryPolicy(
    max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
NOTIFY_RETRY = dg.RetryPolicy(
    max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


class CycleConfig(dg.Config):
    """Per-run choices; empty means the configured watchlist."""

    symbols: list[str] = []  # noqa: RUF012 - pydantic copies defaults per instance


def cycle_assets(
    partitions: dg.PartitionsDefinition, bars_per_session: int
) -> list[dg.AssetsDefinition]:
    """The cycle's assets on `partitions` (the location's cycle bars). A Dagster backfill
    (the UI's, `dgas backfill`'s) runs them as range runs of up to SESSIONS_PER_RANGE_RUN
    full sessions of bars, so a year's backfill is not one run holding a year of frames."""
    common = {
        "partitions_def": partitions,
        "group_name": CYCLE_GROUP,
        # On the assets as well as on the cycle job, so a backfill the UI runs in Dagster's
        # implicit asset job is mirrored FAILED too (Dagster calls a hook once per step).
        "hooks": {mirror_failure},
        "backfill_policy": dg.BackfillPolicy.multi_run(
            max_partitions_per_run=SESSIONS_PER_RANGE_RUN * bars_per_session
        ),
    }

    @dg.asset(retry_policy=PROVIDER_RETRY, kinds={"pandas"}, **common)
    def bars(
        context: dg.AssetExecutionContext,
        config: CycleConfig,
        location: LocationParam,
        database: DatabaseResource,
        providers: ProvidersResource,
    ) -> pd.DataFrame:
        """Validated base bars each cycle may use: its history up to its bar's end, no later."""
        cycle_bars, run = cycle_run(context, location)
        services = cycle_services(location, database, providers)
        return output(context, fetch_cycle_bars(services, run, cycle_bars, config.symbols))

    @dg.asset(kinds={"pandas"}, **common)
    def indicators(
        context: dg.AssetExecutionContext,
        bars: pd.DataFrame,
        location: LocationParam,
        database: DatabaseResource,
    ) -> pd.DataFrame:
        """Each cycle's indicator snapshot: the newest closed bar of every enabled timeframe."""
        cycle_bars, run = cycle_run(context, location)
        services = cycle_services(location, database)
        return output(context, compute_snapshots(services, run, bars, cycle_bars))

    @dg.asset(kinds={"pandas"}, **common)
    def signals(
        context: dg.AssetExecutionContext,
        bars: pd.DataFrame,
        indicators: pd.DataFrame,
        location: LocationParam,
        database: DatabaseResource,
    ) -> pd.DataFrame:
        """Signals of the trading-timeframe bars these cycles closed, stored once each."""
        cycle_bars, run = cycle_run(context, location)
        services = cycle_services(location, database)
        return output(context, find_signals(services, run, bars, cycle_bars))

    @dg.asset(retry_policy=NOTIFY_RETRY, **common)
    def notifications(
        context: dg.AssetExecutionContext,
        signals: pd.DataFrame,
        location: LocationParam,
        database: DatabaseResource,
    ) -> dg.MaterializeResult:
        """Each signal once per channel; a late signal is only logged. Writes the run's end."""
        _, run = cycle_run(context, location)
        result = notify_cycle(cycle_services(location, database), run, signals)
        return materialized(result.metadata)

    @dg.asset(deps=["indicators"], **common)
    def alerts(
        context: dg.AssetExecutionContext,
        bars: pd.DataFrame,
        location: LocationParam,
        database: DatabaseResource,
    ) -> dg.MaterializeResult:
        """Firings of the rules in `alerts_file` on the bars these cycles closed."""
        services = cycle_services(location, database)
        return materialized(run_alert_rules(services, bars, run_bars(context, location)))

    return [bars, indicators, signals, notifications, alerts]
