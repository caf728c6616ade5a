"""The signal step: signals of the trading bars a run's cycles closed, stored once each."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import timedelta

import pandas as pd

from dgas_pipeline import analysis
from dgas_pipeline.config import SchedulerConfig
from dgas_pipeline.cycle import mirror
from dgas_pipeline.cycle.history import PARTITION, group_history, history_groups
from dgas_pipeline.cycle.isolation import (
    SymbolFailure,
    failed_symbols,
    failure_lines,
    failure_warnings,
    isolating_symbols,
)
from dgas_pipeline.cycle.services import CycleServices
from dgas_pipeline.cycle.stage import Markdown, StepResult, timed
from dgas_pipeline.market import MarketHoursManager, cycle_partition_key
from dgas_pipeline.market.bars import Bar
from dgas_pipeline.store import repositories as repo
from dgas_pipeline.store.engine import write_transaction

# Further back than the aggregator's 60-minute window, so its "previous kept" is complete.
AGGREGATION_LOOKBACK = timedelta(hours=2)


def find_signals(
    services: CycleServices, run: mirror.RunIdentity, bars: pd.DataFrame, cycle_bars: list[Bar]
) -> StepResult[pd.DataFrame]:
    """Signals of these cycles, stored (with ids), plus what an earlier run of these bars
    stored but may not have sent; each bar's row gets its count, and its failed symbols."""
    with timed("signal_generation_ms") as stage:
        kept, failures = find_and_store_signals(services, bars, cycle_bars, run.dagster_run_id)
        kept = with_stored_signals(services, kept, cycle_bars, bars["symbol"].unique())
    stage.warn(*failure_warnings(failures))
    counts = kept.groupby(PARTITION).size().to_dict()
    present = bars.groupby(PARTITION)["symbol"].nunique().to_dict()
    errors = {part.key: failure_lines(failures, part.key) for part in run.partitions}
    figures = {
        part.key: {
            "signals_generated": int(counts.get(part.key, 0)),
            # a symbol whose signals failed is not processed; only then is the count revised
            **(
                {"symbols_processed": int(present.get(part.key, 0)) - len(errors[part.key])}
                if errors[part.key]
                else {}
            ),
        }
        for part in run.partitions
    }
    stage.record(services.engine(), run, partition_errors=errors, partition_fields=figures)
    metadata: dict[str, object] = {
        "signals": len(kept),
        "by_type": kept["signal_type"].value_counts().to_dict(),
        "symbols_failed": failed_symbols(failures),
    }
    if len(kept):
        # only the strongest signal's symbol is drawn: its rows, not the run's, are grouped
        best = kept.loc[kept["confidence"].idxmax(), "symbol"]
        history = group_history(bars[bars["symbol"] == best], cycle_bars)
        metadata["strongest_signal_chart"] = chart_markdown(
            kept, history, services.settings, services.market
        )
    return stage.result(kept, **metadata)


def find_and_store_signals(
    services: CycleServices, bars: pd.DataFrame, cycle_bars: list[Bar], run_id: str
) -> tuple[pd.DataFrame, list[SymbolFailure]]:
    """Signals of the trading bars these cycles closed, aggregated and upserted (with ids),
    and the symbols whose signals could not be computed (the others' are stored)."""
    settings, market = services.settings, services.market
    thresholds = analysis.SignalThresholds(
        min_confidence=settings.min_confidence,
        min_signal_strength=settings.min_signal_strength,
        min_alignment=settings.min_alignment,
        enabled_patterns=settings.enabled_patterns,
    )
    engine = services.engine()
    parts, failures = [], []
    for group in history_groups(market, cycle_bars, settings.history_sessions):
        found, failed = isolating_symbols(
            group_history(bars, group),
            lambda history, group=group: group_signals(history, group, settings, thresholds),
            "signals",
            tuple(bar.key for bar in group),
        )
        parts.append(found)
        failures.extend(failed)
    found = pd.concat(parts, ignore_index=True)
    # Stored signals seed the aggregator: a re-derived signal (the same trading bar seen by a
    # later cycle) and one within the window of a stored one are dropped, so live cycles and
    # a backfill of the same bars keep the same signals.
    with engine.connect() as conn:
        stored = pd.DataFrame(repo.signals_since(conn, cycle_bars[0].start - AGGREGATION_LOOKBACK))
    kept = analysis.aggregate_signals(found, stored if len(stored) else None)
    kept = kept.assign(
        **{
            PARTITION: [
                owner_key(market, ts, settings.interval_delta) for ts in kept["signal_timestamp"]
            ]
        }
    )
    with write_transaction(engine) as conn:
        ids = repo.upsert_signals(
            conn, [{**row, "dagster_run_id": run_id} for row in kept.to_dict("records")]
        )
    return kept.assign(id=ids), failures


def with_stored_signals(
    services: CycleServices, kept: pd.DataFrame, cycle_bars: list[Bar], symbols: Iterable[str]
) -> pd.DataFrame:
    """`kept` plus the signals of these bars (and symbols) that an earlier run stored.

    The aggregator drops a signal that is already stored, so a rerun after a run that died
    between storing its signals and notifying them would find nothing to notify: those
    notifications would be lost. With them, the rerun notifies what is still unsent (the
    delivery log skips what was sent) and reports its bar's signals like the first run.
    """
    wanted = set(symbols)
    order = {bar.key: i for i, bar in enumerate(cycle_bars)}
    # One query for the run's bars, not one per bar: a bar's signals are stamped after its
    # start (their trading bar ends with the cycle's bar), so none is older than the first.
    with services.engine().connect() as conn:
        since = repo.signals_since(conn, cycle_bars[0].start)
    stored = sorted(
        (row for row in since if row["partition_key"] in order and row["symbol"] in wanted),
        key=lambda row: (order[row["partition_key"]], row["symbol"], row["signal_timestamp"]),
    )
    known = set(kept["id"]) if "id" in kept.columns else set()
    earlier = [row for row in stored if row["id"] not in known]
    if not earlier:
        return kept
    frame = pd.DataFrame(earlier)
    frame["signal_timestamp"] = pd.to_datetime(frame["signal_timestamp"], utc=True).dt.as_unit("ns")
    if not len(kept):
        return frame[[c for c in kept.columns if c in frame.columns] or list(frame.columns)]
    return pd.concat([kept, frame[list(kept.columns)]], ignore_index=True)


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


def owner_key(market: MarketHoursManager, signal_time: pd.Timestamp, interval: timedelta) -> str:
    """The cycle whose bar ends when the signal's trading bar does: it found the signal."""
    return cycle_partition_key(market, signal_time.to_pydatetime() - interval)


def chart_markdown(
    kept: pd.DataFrame,
    history: pd.DataFrame,
    settings: SchedulerConfig,
    market: MarketHoursManager,
) -> Markdown:
    """The strongest signal drawn on its trading timeframe, inline in the step's metadata."""
    best = kept.loc[kept["confidence"].idxmax()]
    trading = settings.enabled_timeframes[1]
    own = history[history["symbol"] == best["symbol"]]
    frame = analysis.closed_bars(analysis.resample_bars(own, trading), best["signal_timestamp"])
    png = analysis.signal_chart_png(frame, None, best, tz=market.tz.key)
    encoded = base64.b64encode(png).decode("ascii")
    title = f"{best['signal_type']} {best['symbol']} {trading} @ {best['entry_price']:.2f}"
    return Markdown(f"**{title}**\n\n![chart](data:image/png;base64,{encoded})")
