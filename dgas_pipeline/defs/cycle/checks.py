"""Asset checks: what must hold of a cycle's bars and signals before anyone trusts them."""

import dagster as dg
import pandas as pd

from dgas_pipeline.cycle.checks import check_bars, check_signals
from dgas_pipeline.defs.runtime.metadata import dagster_metadata
from dgas_pipeline.defs.runtime.resources import LocationParam


def cycle_checks(partitions: dg.PartitionsDefinition) -> list[dg.AssetChecksDefinition]:
    """The checks of the `bars` and `signals` assets, on the cycle's partitions."""

    @dg.asset_check(
        asset="bars",
        partitions_def=partitions,
        description="OHLC consistent, finite, one bar per symbol in each cycle's window",
    )
    def bars_valid_and_complete(
        context: dg.AssetCheckExecutionContext, bars: pd.DataFrame, location: LocationParam
    ) -> dg.AssetCheckResult:
        interval = location.config.interval_delta
        passed, found = check_bars(bars, location.market, interval)
        return dg.AssetCheckResult(passed=passed, metadata=dagster_metadata(found))

    @dg.asset_check(
        asset="signals",
        partitions_def=partitions,
        description="scores in [0, 1]; stop and target on the right side of entry",
    )
    def signals_sane(signals: pd.DataFrame) -> dg.AssetCheckResult:
        passed, found = check_signals(signals)
        return dg.AssetCheckResult(passed=passed, metadata=dagster_metadata(found))

    return [bars_valid_and_complete, signals_sane]
