"""The prediction cycle as assets: bars -> indicators -> signals -> notifications.

Partitioned by the planner's cycle bars. A run may cover one bar (live) or a range of bars
(a backfilled session in one run); every frame carries a `partition_key` column so the IO
manager stores each bar's part separately, and a backfilled bar reads what a live one would
have. Bodies only orchestrate: the work is in data/, analysis/, notify/ and store/.
"""

import base64
from dataclasses import replace

import dagster as dg
import numpy as np
import pandas as pd

from dgas_pipeline import analysis
from dgas_pipeline.config import SchedulerConfig
from dgas_pipeline.defs import mirror
from dgas_pipeline.defs.cycle_steps import (
    PARTITION,
    SymbolFailure,
    cap_symbols,
    failure_lines,
    fetch_history,
    find_and_store_signals,
    group_history,
    history_groups,
    isolating_symbols,
    notify_signals,
    stopwatch,
    with_stored_signals,
)
from dgas_pipeline.defs.location import current_location
from dgas_pipeline.defs.partitions import cycle_partitions
from dgas_pipeline.defs.resources import PipelineResource
from dgas_pipeline.market.bars import Bar, bar_for_key
from dgas_pipeline.watchlists import store as watchlist_store
from dgas_pipeline.watchlists.schedule import every_bar_symbols

_location = current_location()
CYCLE_PARTITIONS = cycle_partitions(
    _location.market, _location.config.partitions_start, _location.config.interval_delta
)
GROUP = "prediction_cycle"

PROVIDER_RETRY = dg.RetryPolicy(
    max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
NOTIFY_RETRY = dg.RetryPolicy(
    max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


class CycleConfig(dg.Config):
    """Per-run choices; empty means the configured watchlist."""

    symbols: list[str] = []  # noqa: RUF012 - pydantic copies defaults per instance


@dg.asset(
    partitions_def=CYCLE_PARTITIONS,
    group_name=GROUP,
    retry_policy=PROVIDER_RETRY,
    kinds={"pandas"},
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def bars(
    context: dg.AssetExecutionContext, config: CycleConfig, pipeline: PipelineResource
) -> pd.DataFrame:
    """Validated base bars each cycle may use: its history up to its bar's end, no later."""
    cycle_bars = run_bars(context, pipeline)
    wanted = list(config.symbols) or cycle_symbols(pipeline)
    symbols, cut = cap_symbols(wanted, pipeline.settings().max_symbols_per_cycle)
    run = run_identity(context, pipeline, cycle_bars)
    engine = pipeline.engine()
    mirror.mark_running(engine, run, symbols_requested=len(wanted))
    if cut:
        context.log.warning(cut)

    with stopwatch() as elapsed:
        frame, fetched = fetch_history(pipeline, symbols, cycle_bars)
    errors = [f"{symbol}: {message}" for symbol, message in sorted(fetched.errors.items())]
    for line in errors:
        context.log.warning(f"bars skipped for {line}")
    errors = [*([cut] if cut else []), *errors]
    mirror.update(
        engine,
        run,
        errors=errors,
        data_fetch_ms=elapsed(),
        symbols_processed=len(fetched.symbols),
    )
    context.add_output_metadata(
        {
            "symbols_requested": len(wanted),
            "symbols_processed": len(fetched.symbols),
            "symbols_failed": dg.MetadataValue.json(sorted(fetched.errors)),
            "providers_used": dg.MetadataValue.json(fetched.provider_used),
            "rows": len(frame),
            "data_fetch_ms": elapsed(),
        }
    )
    return frame


@dg.asset(
    partitions_def=CYCLE_PARTITIONS,
    group_name=GROUP,
    kinds={"pandas"},
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def indicators(
    context: dg.AssetExecutionContext, bars: pd.DataFrame, pipeline: PipelineResource
) -> pd.DataFrame:
    """Each cycle's indicator snapshot: the newest closed bar of every enabled timeframe.

    Computed once per stretch of cycles sharing a history (a session) and sliced per cycle:
    indicators never look ahead (property-tested), so the slice equals a cycle's own run.
    """
    settings, market = pipeline.settings(), pipeline.market()
    cycle_bars = run_bars(context, pipeline)
    parts: list[pd.DataFrame] = []
    failures: list[SymbolFailure] = []
    with stopwatch() as elapsed:
        for group in history_groups(market, cycle_bars, settings.history_sessions):
            history = group_history(bars, group)
            keys = tuple(bar.key for bar in group)
            for timeframe in settings.enabled_timeframes:
                part, failed = isolating_symbols(
                    history,
                    lambda rows, tf=timeframe, group=group: indicator_snapshot(rows, tf, group),
                    "indicators",
                    keys,
                )
                parts.append(part)
                failures.extend(failed)
    result = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    run = run_identity(context, pipeline, cycle_bars)
    warn_failures(context, failures)
    mirror.update(
        pipeline.engine(),
        run,
        partition_errors={p.key: failure_lines(failures, p.key) for p in run.partitions},
        indicator_calc_ms=elapsed(),
    )
    context.add_output_metadata(
        {
            "rows": len(result),
            "indicator_calc_ms": elapsed(),
            "symbols_failed": dg.MetadataValue.json(sorted({f.symbol for f in failures})),
        }
    )
    return result


def indicator_snapshot(history: pd.DataFrame, timeframe: str, group: list[Bar]) -> pd.DataFrame:
    """Each cycle of `group`'s newest closed `timeframe` bar per symbol, with indicators."""
    closed = analysis.closed_bars(analysis.resample_bars(history, timeframe), group[-1].end)
    computed = analysis.compute_indicators(closed)
    return latest_per_bar(computed.assign(timeframe=timeframe), group)


@dg.asset(
    partitions_def=CYCLE_PARTITIONS,
    group_name=GROUP,
    kinds={"pandas"},
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def signals(
    context: dg.AssetExecutionContext,
    bars: pd.DataFrame,
    indicators: pd.DataFrame,
    pipeline: PipelineResource,
) -> pd.DataFrame:
    """Signals of the trading-timeframe bars these cycles closed, stored once each."""
    settings = pipeline.settings()
    cycle_bars = run_bars(context, pipeline)
    history = group_history(bars, cycle_bars)
    engine = pipeline.engine()
    with stopwatch() as elapsed:
        kept, failures = find_and_store_signals(pipeline, bars, cycle_bars, context.run.run_id)
        # A rerun also carries what an earlier run of these bars stored but may not have sent.
        kept = with_stored_signals(pipeline, kept, cycle_bars, bars["symbol"].unique())
    run = run_identity(context, pipeline, cycle_bars)
    warn_failures(context, failures)
    counts = kept.groupby(PARTITION).size().to_dict()
    present = bars.groupby(PARTITION)["symbol"].nunique().to_dict()
    for part in run.partitions:
        lines = failure_lines(failures, part.key)
        # a symbol whose signals failed is not processed; only then is the bars' count revised
        processed = {"symbols_processed": int(present.get(part.key, 0)) - len(lines)}
        mirror.update(
            engine,
            replace(run, partitions=[part]),
            errors=lines,
            signals_generated=int(counts.get(part.key, 0)),
            signal_generation_ms=elapsed(),
            **(processed if lines else {}),
        )
    metadata: dict[str, object] = {
        "signals": len(kept),
        "signal_generation_ms": elapsed(),
        "by_type": dg.MetadataValue.json(kept["signal_type"].value_counts().to_dict()),
        "symbols_failed": dg.MetadataValue.json(sorted({f.symbol for f in failures})),
    }
    if len(kept):
        metadata["strongest_signal_chart"] = chart_markdown(kept, history, settings)
    context.add_output_metadata(metadata)
    return kept


@dg.asset(
    partitions_def=CYCLE_PARTITIONS,
    group_name=GROUP,
    retry_policy=NOTIFY_RETRY,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def notifications(
    context: dg.AssetExecutionContext, signals: pd.DataFrame, pipeline: PipelineResource
) -> dg.MaterializeResult:
    """Each signal once per channel; signals older than `stale_after_minutes` are only logged."""
    settings, market = pipeline.settings(), pipeline.market()
    cycle_bars = run_bars(context, pipeline)
    engine = pipeline.engine()
    with stopwatch() as elapsed:
        report = notify_signals(pipeline, signals)
    errors = list(report.errors)
    run = run_identity(context, pipeline, cycle_bars)
    status = mirror.finish(
        engine,
        run,
        market,
        settings.plan_settings,
        errors=errors,
        notification_ms=elapsed(),
    )
    return dg.MaterializeResult(
        metadata={
            "status": status,
            "sent": report.sent,
            "skipped_already_sent": report.skipped,
            "stale_not_sent": report.stale,
            "failed_channels": dg.MetadataValue.json(sorted(report.failed)),
            "notification_ms": elapsed(),
        }
    )


# -- glue shared by the assets -----------------------------------------------------------------


def cycle_symbols(pipeline: PipelineResource) -> list[str]:
    """The configured watchlist plus every enabled `every_bar` watchlist, read each run so a
    watchlist added over the API joins the next cycle without a reload. Not yet capped at
    max_symbols_per_cycle: `cap_symbols` cuts it, with a warning in the run's errors."""
    settings = pipeline.settings()
    with pipeline.engine().connect() as conn:
        extra = every_bar_symbols(watchlist_store.list_watchlists(conn, enabled_only=True))
    return list(dict.fromkeys([*settings.symbols, *extra]))


def warn_failures(context: dg.AssetExecutionContext, failures: list[SymbolFailure]) -> None:
    for line in dict.fromkeys(failure.line for failure in failures):
        context.log.warning(f"left out of this step: {line}")


def latest_per_bar(computed: pd.DataFrame, group: list[Bar]) -> pd.DataFrame:
    """Each symbol's newest row ending by each bar's end, tagged with the bar's partition.

    The rows a live cycle of each bar keeps (`groupby("symbol").tail(1)` of what had ended),
    bar after bar in `computed`'s order, found by one as-of join instead of a pass per bar.
    """
    if computed.empty:
        return computed.assign(**{PARTITION: pd.Series(dtype=object)})
    codes, symbols = pd.factorize(computed["symbol"])  # plain or categorical symbols alike
    rows = pd.DataFrame({"end": computed["end"].array, "symbol": codes})
    rows["row"] = np.arange(len(rows))
    asks = pd.DataFrame(
        [(i, bar.end, code) for i, bar in enumerate(group) for code in range(len(symbols))],
        columns=["bar", "as_of", "symbol"],
    )
    ends = rows["end"].dt
    asks["as_of"] = (
        pd.to_datetime(asks["as_of"], utc=True).dt.tz_convert(ends.tz).dt.as_unit(ends.unit)
    )
    found = pd.merge_asof(
        asks.sort_values("as_of", kind="stable"),
        rows.sort_values("end", kind="stable"),
        left_on="as_of",
        right_on="end",
        by="symbol",
        direction="backward",
        allow_exact_matches=True,
    ).dropna(subset=["row"])
    found = found.sort_values(["bar", "row"], kind="stable")
    picked = computed.iloc[found["row"].astype(np.int64).to_numpy()].reset_index(drop=True)
    keys = np.array([bar.key for bar in group], dtype=object)[found["bar"].to_numpy()]
    return picked.assign(**{PARTITION: keys})


def run_bars(context: dg.AssetExecutionContext, pipeline: PipelineResource) -> list[Bar]:
    market, interval = pipeline.market(), pipeline.settings().interval_delta
    return [bar_for_key(market, key, interval) for key in context.partition_keys]


def run_identity(
    context: dg.AssetExecutionContext, pipeline: PipelineResource, cycle_bars: list[Bar]
) -> mirror.RunIdentity:
    return mirror.identity_of(
        context,
        kind="cycle",
        interval_type=pipeline.settings().interval,
        partitions=[mirror.RunPartition(b.key, b.start, b.end) for b in cycle_bars],
    )


def chart_markdown(
    kept: pd.DataFrame, history: pd.DataFrame, settings: SchedulerConfig
) -> dg.MetadataValue:
    """The strongest signal drawn on its trading timeframe, inline in the asset's metadata."""
    best = kept.loc[kept["confidence"].idxmax()]
    trading = settings.enabled_timeframes[1]
    own = history[history["symbol"] == best["symbol"]]
    frame = analysis.closed_bars(analysis.resample_bars(own, trading), best["signal_timestamp"])
    png = analysis.signal_chart_png(frame, None, best)
    encoded = base64.b64encode(png).decode("ascii")
    title = f"{best['signal_type']} {best['symbol']} {trading} @ {best['entry_price']:.2f}"
    return dg.MetadataValue.md(f"**{title}**\n\n![chart](data:image/png;base64,{encoded})")
