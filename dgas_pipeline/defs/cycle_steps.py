"""The steps of a prediction cycle, shared by the cycle assets and the watchlist job.

Each step takes the pipeline resource and plain values and calls data/, analysis/, notify/
and store/; the Dagster bodies around them only add the run mirror and metadata. One place
for the cycle's rules, whichever job runs them.
"""

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from dgas_pipeline import analysis
from dgas_pipeline.config import SchedulerConfig
from dgas_pipeline.data import FetchResult, close_providers, fetch_bars
from dgas_pipeline.defs.clock import clock_now
from dgas_pipeline.defs.resources import PipelineResource, secret
from dgas_pipeline.market import MarketHoursManager, cycle_partition_key
from dgas_pipeline.market.bars import Bar, history_start
from dgas_pipeline.notify import deliver, signal_message
from dgas_pipeline.notify.delivery import DeliveryReport
from dgas_pipeline.store import repositories as repo
from dgas_pipeline.store.engine import write_transaction

PARTITION = "partition_key"
# Further back than the aggregator's 60-minute window, so its "previous kept" is complete.
AGGREGATION_LOOKBACK = timedelta(hours=2)
# A run's error line names at most this many of the symbols cut by max_symbols_per_cycle.
DROPPED_SHOWN = 10
# An analysis error's message is cut to this in the run's errors (it may echo input data).
ERROR_MESSAGE_CHARS = 200


@dataclass(frozen=True)
class SymbolFailure:
    """A symbol a cycle step could not analyse, for the cycles (partition keys) it cost."""

    symbol: str
    stage: str
    error: str
    keys: tuple[str, ...]

    @property
    def line(self) -> str:
        """The run's error line, in the fetch errors' `SYMBOL: ...` form."""
        return f"{self.symbol}: {self.stage}: {self.error}"


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


def isolating_symbols(
    frame: pd.DataFrame,
    compute: Callable[[pd.DataFrame], pd.DataFrame],
    stage: str,
    keys: tuple[str, ...],
) -> tuple[pd.DataFrame, list[SymbolFailure]]:
    """`compute(frame)` for all symbols at once; only if that raises, once per symbol, so
    the symbols that fail alone are left out (as failures) and the others keep their result.

    The all-at-once call is the whole cost when nothing fails. Analysis treats symbols
    independently (a tested property), so the per-symbol results are what the all-at-once
    call gives them. A failure no single symbol explains, or that every symbol has, is not a
    symbol's: it is raised and fails the step.
    """
    try:
        return compute(frame), []
    except Exception as error:
        whole = error
    parts, failures = [], []
    for symbol, rows in frame.groupby("symbol", sort=False, observed=True):
        try:
            parts.append(compute(rows.reset_index(drop=True)))
        except Exception as error:
            failures.append(SymbolFailure(str(symbol), stage, error_text(error), keys))
    if not failures or not parts:
        raise whole
    return pd.concat(parts, ignore_index=True), failures


def error_text(error: BaseException) -> str:
    """`Type: first line of the message`, cut to ERROR_MESSAGE_CHARS."""
    text = str(error)
    first = text.splitlines()[0] if text else ""
    return f"{type(error).__name__}: {first}"[:ERROR_MESSAGE_CHARS]


def failure_lines(failures: Iterable[SymbolFailure], key: str) -> list[str]:
    """The error lines of the failures that cost the cycle `key` a symbol."""
    return [failure.line for failure in failures if key in failure.keys]


def fetch_history(
    pipeline: PipelineResource, symbols: list[str], cycle_bars: list[Bar]
) -> tuple[pd.DataFrame, FetchResult]:
    """Validated bars each cycle may use, tagged with its partition: its history up to its
    bar's end, no later, exactly what a live cycle of that bar reads."""
    settings, market = pipeline.settings(), pipeline.market()
    providers = pipeline.providers()
    try:
        start = history_start(market, cycle_bars[0].start, settings.history_sessions)
        fetched = fetch_bars(
            providers, symbols, start, cycle_bars[-1].end, settings.interval_delta, market
        )
    finally:
        close_providers(providers)
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
    return frame, fetched


def find_and_store_signals(
    pipeline: PipelineResource, bars: pd.DataFrame, cycle_bars: list[Bar], run_id: str
) -> tuple[pd.DataFrame, list[SymbolFailure]]:
    """Signals of the trading bars these cycles closed, aggregated and upserted (with ids),
    and the symbols whose signals could not be computed (the others' are stored)."""
    settings, market = pipeline.settings(), pipeline.market()
    thresholds = analysis.SignalThresholds(
        min_confidence=settings.min_confidence,
        min_signal_strength=settings.min_signal_strength,
        min_alignment=settings.min_alignment,
        enabled_patterns=settings.enabled_patterns,
    )
    engine = pipeline.engine()
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
    pipeline: PipelineResource, kept: pd.DataFrame, cycle_bars: list[Bar], symbols: Iterable[str]
) -> pd.DataFrame:
    """`kept` plus the signals of these bars (and symbols) that an earlier run stored.

    The aggregator drops a signal that is already stored, so a rerun after a run that died
    between storing its signals and notifying them would find nothing to notify: those
    notifications would be lost. With them, the rerun notifies what is still unsent (the
    delivery log skips what was sent) and reports its bar's signals like the first run.
    """
    wanted = set(symbols)
    with pipeline.engine().connect() as conn:
        stored = [
            row
            for bar in cycle_bars
            for row in repo.signals_for_partition(conn, bar.key)
            if row["symbol"] in wanted
        ]
    known = set(kept["id"]) if "id" in kept.columns else set()
    earlier = [row for row in stored if row["id"] not in known]
    if not earlier:
        return kept
    frame = pd.DataFrame(earlier)
    frame["signal_timestamp"] = pd.to_datetime(frame["signal_timestamp"], utc=True).dt.as_unit("ns")
    if not len(kept):
        return frame[[c for c in kept.columns if c in frame.columns] or list(frame.columns)]
    return pd.concat([kept, frame[list(kept.columns)]], ignore_index=True)


def notify_signals(pipeline: PipelineResource, signals: pd.DataFrame) -> DeliveryReport:
    """Each signal once per channel; older than `stale_after_minutes`: logged, never sent."""
    settings, market = pipeline.settings(), pipeline.market()
    stale_before = clock_now() - timedelta(minutes=settings.stale_after_minutes)
    messages = [
        signal_message(row, stale=row["signal_timestamp"] < stale_before, tz=str(market.tz))
        for row in signals.to_dict("records")
    ]
    engine = pipeline.engine()
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
    return report


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
