"""The prediction cycle as assets: bars -> indicators -> signals -> notifications.

Partitioned by the planner's cycle bars. A run may cover one bar (live) or a range of bars
(a backfilled session in one run); every frame carries a `partition_key` column so the IO
manager stores each bar's part separately, and a backfilled bar reads what a live one would
have. Bodies only orchestrate: the work is in data/, analysis/, notify/ and store/.
"""

import base64
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd

from dgas_pipeline import analysis
from dgas_pipeline.config import SchedulerConfig
from dgas_pipeline.data import close_providers, fetch_bars
from dgas_pipeline.defs import mirror
from dgas_pipeline.defs.location import current_location
from dgas_pipeline.defs.partitions import cycle_partitions
from dgas_pipeline.defs.resources import PipelineResource, secret
from dgas_pipeline.market import MarketHoursManager, cycle_partition_key
from dgas_pipeline.market.bars import Bar, bar_for_key, history_start
from dgas_pipeline.notify import deliver, signal_message
from dgas_pipeline.store import repositories as repo
from dgas_pipeline.store.engine import write_transaction

_location = current_location()
CYCLE_PARTITIONS = cycle_partitions(
    _location.market, _location.config.partitions_start, _location.config.interval_delta
)
GROUP = "prediction_cycle"
PARTITION = "partition_key"

# Further back than the aggregator's 60-minute window, so its "previous kept" is complete.
AGGREGATION_LOOKBACK = timedelta(hours=2)

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
    settings, market = pipeline.settings(), pipeline.market()
    cycle_bars = run_bars(context, pipeline)
    symbols = config.symbols or list(settings.symbols[: settings.max_symbols_per_cycle])
    run = run_identity(context, pipeline, cycle_bars)
    engine = pipeline.engine()
    mirror.mark_running(engine, run, symbols_requested=len(symbols))

    providers = pipeline.providers()
    try:
        with stopwatch() as elapsed:
            start = history_start(market, cycle_bars[0].start, settings.history_sessions)
            fetched = fetch_bars(
                providers, symbols, start, cycle_bars[-1].end, settings.interval_delta, market
            )
    finally:
        close_providers(providers)
    errors = [f"{symbol}: {message}" for symbol, message in sorted(fetched.errors.items())]
    for line in errors:
        context.log.warning(f"bars skipped for {line}")
    mirror.update(
        engine,
        run,
        errors=errors,
        data_fetch_ms=elapsed(),
        symbols_processed=len(fetched.symbols),
    )
    # Each bar gets exactly the history a live cycle of it reads, so backfills agree with it.
    ts = fetched.bars["ts"]
    frame = pd.concat(
        [
            fetched.bars[
                (ts >= history_start(market, bar.start, settings.history_sessions)) & (ts < bar.end)
            ].assign(**{PARTITION: bar.key})
            for bar in cycle_bars
        ],
        ignore_index=True,
    )
    context.add_output_metadata(
        {
            "symbols_requested": len(symbols),
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
    parts = []
    with stopwatch() as elapsed:
        for group in history_groups(market, cycle_bars, settings.history_sessions):
            history = group_history(bars, group)
            for timeframe in settings.enabled_timeframes:
                closed = analysis.closed_bars(
                    analysis.resample_bars(history, timeframe), group[-1].end
                )
                computed = analysis.compute_indicators(closed)
                for bar in group:
                    latest = computed[computed["end"] <= bar.end].groupby("symbol").tail(1)
                    parts.append(latest.assign(timeframe=timeframe, **{PARTITION: bar.key}))
    result = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    mirror.update(
        pipeline.engine(), run_identity(context, pipeline, cycle_bars), indicator_calc_ms=elapsed()
    )
    context.add_output_metadata({"rows": len(result), "indicator_calc_ms": elapsed()})
    return result


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
    settings, market = pipeline.settings(), pipeline.market()
    cycle_bars = run_bars(context, pipeline)
    history = group_history(bars, cycle_bars)
    thresholds = analysis.SignalThresholds(
        min_confidence=settings.min_confidence,
        min_signal_strength=settings.min_signal_strength,
        min_alignment=settings.min_alignment,
        enabled_patterns=settings.enabled_patterns,
    )
    engine = pipeline.engine()
    with stopwatch() as elapsed:
        found = pd.concat(
            [
                group_signals(group_history(bars, group), group, settings, thresholds)
                for group in history_groups(market, cycle_bars, settings.history_sessions)
            ],
            ignore_index=True,
        )
        # Stored signals seed the aggregator: a re-derived signal (the same trading bar seen
        # by a later cycle) and one within the window of a stored one are dropped, so live
        # cycles and a backfill of the same bars keep the same signals.
        with engine.connect() as conn:
            since = cycle_bars[0].start - AGGREGATION_LOOKBACK
            stored = pd.DataFrame(repo.signals_since(conn, since))
        kept = analysis.aggregate_signals(found, stored if len(stored) else None)
    kept = kept.assign(
        **{
            PARTITION: [
                owner_key(market, ts, settings.interval_delta) for ts in kept["signal_timestamp"]
            ]
        }
    )
    run = run_identity(context, pipeline, cycle_bars)
    with write_transaction(engine) as conn:
        ids = repo.upsert_signals(
            conn,
            [{**row, "dagster_run_id": context.run_id} for row in kept.to_dict("records")],
        )
    kept = kept.assign(id=ids)
    counts = kept.groupby(PARTITION).size().to_dict()
    for part in run.partitions:
        mirror.update(
            engine,
            replace(run, partitions=[part]),
            signals_generated=int(counts.get(part.key, 0)),
            signal_generation_ms=elapsed(),
        )
    metadata: dict[str, object] = {
        "signals": len(kept),
        "signal_generation_ms": elapsed(),
        "by_type": dg.MetadataValue.json(kept["signal_type"].value_counts().to_dict()),
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
    now = datetime.now(UTC)
    stale_before = now - timedelta(minutes=settings.stale_after_minutes)
    messages = [
        signal_message(row, stale=row["signal_timestamp"] < stale_before, tz=str(market.tz))
        for row in signals.to_dict("records")
    ]
    engine = pipeline.engine()
    with stopwatch() as elapsed:
        report = deliver(engine, messages, settings.notifications, secret)
        ids = {m.message_key: m.signal_id for m in messages}
        with write_transaction(engine) as conn:
            repo.mark_signals_notified(
                conn,
                {
                    ids[key]: names
                    for key, names in report.delivered.items()
                    if ids.get(key) is not None
                },
            )
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


def history_groups(
    market: MarketHoursManager, cycle_bars: list[Bar], sessions: int
) -> list[list[Bar]]:
    """The run's bars grouped by the history they read (one group per session)."""
    groups: dict[datetime, list[Bar]] = {}
    for bar in cycle_bars:
        groups.setdefault(history_start(market, bar.start, sessions), []).append(bar)
    return list(groups.values())


def group_history(bars: pd.DataFrame, group: list[Bar]) -> pd.DataFrame:
    """The base bars a group of cycles read, once each (the IO frames repeat them per cycle)."""
    keys = {bar.key for bar in group}
    rows = bars[bars[PARTITION].isin(keys)].drop(columns=[PARTITION])
    rows = rows.drop_duplicates(["symbol", "ts"], keep="last")
    return rows.sort_values(["symbol", "ts"], ignore_index=True)


def group_signals(
    history: pd.DataFrame,
    group: list[Bar],
    settings: SchedulerConfig,
    thresholds: analysis.SignalThresholds,
) -> pd.DataFrame:
    """Live: the newest closed trading bar as of the cycle's end; a range: every bar closing
    in it. Either way exactly what each cycle of the group would find alone."""
    if len(group) == 1:
        found = analysis.generate_signals(
            history, group[0].end, settings.enabled_timeframes, thresholds
        )
        # A cycle owns only the trading bars that close during its bar. The newest one closed
        # by its end may have closed earlier (the 09:30 cycle sees yesterday's last hour):
        # that signal belongs to the earlier cycle, and a backfill of this bar has none.
        return found[found["signal_timestamp"] > group[0].start]
    return analysis.generate_signals_range(
        history, group[0].start, group[-1].end, settings.enabled_timeframes, thresholds
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


def owner_key(market: MarketHoursManager, signal_time: pd.Timestamp, interval: timedelta) -> str:
    """The cycle whose bar ends when the signal's trading bar does: it found the signal."""
    return cycle_partition_key(market, signal_time.to_pydatetime() - interval)


@contextmanager
def stopwatch() -> Iterator[Callable[[], int]]:
    """Milliseconds since entry; frozen at exit so metadata and the mirror agree."""
    started = time.perf_counter()
    finished: list[float] = []
    yield lambda: int(((finished[0] if finished else time.perf_counter()) - started) * 1000)
    finished.append(time.perf_counter())
