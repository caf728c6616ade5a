"""What became of the signals: EOD outcome evaluation and confidence calibration.

Outcome of a PENDING signal (DRUMMOND.md "EOD consolidation"): walk the base bars that start
at or after `signal_timestamp` (the signal bar's close, so the bar that produced it is never
counted), at most `horizon_bars` of them:
- target reached first -> WIN, stop reached first -> LOSS,
- both inside one bar -> LOSS (the bar's path is unknown; assume the worse),
- neither within horizon_bars bars -> NEUTRAL,
- neither yet but fewer than horizon_bars closed bars exist -> stays PENDING.

The entry is usually a confluence zone a little away from the market (a LONG's support below
the close). The trade is counted from the bar where price reaches `entry_price` (the first
bar if it opens through it): before that, a target touch is no win. Counting from the signal
instead made a pure random walk "win" two trades out of three, and calibration would have
believed it. Never filled within the horizon -> NEUTRAL with pnl 0.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd

from dgas_pipeline.analysis._layout import (
    SymbolLayout,
    asof_rows,
    layout_of,
    timestamps_ns,
    utc_timestamp,
)

WIN, LOSS, NEUTRAL, PENDING = "WIN", "LOSS", "NEUTRAL", "PENDING"
OUTCOME_COLUMNS = (
    "outcome",
    "actual_high",
    "actual_low",
    "actual_close",
    "pnl_pct",
    "evaluated_at",
)
DEFAULT_HORIZON_BARS = 13  # one regular NYSE session of 30-min bars
CALIBRATION_EDGES = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def evaluate_outcomes(
    signals: pd.DataFrame,
    bars: pd.DataFrame,
    evaluated_at: object,
    *,
    horizon_bars: int = DEFAULT_HORIZON_BARS,
    bar_interval: str | pd.Timedelta = "30min",
) -> pd.DataFrame:
    """Outcome columns for the PENDING signals among `signals`, indexed like `signals`.

    `signals`: symbol, signal_timestamp, signal_type (LONG / SHORT), entry_price, stop_loss,
    target_price and optionally outcome (missing = PENDING; other outcomes are final and come
    back unchanged with NaN prices). `bars`: base bars sorted by (symbol, ts); a bar counts
    once it closed by `evaluated_at` (end = min(ts + bar_interval, session_close)).
    Returns OUTCOME_COLUMNS: outcome, actual_high / actual_low (extremes of the bars walked),
    actual_close (close of the last bar walked), pnl_pct (percent, signed for the side:
    target / stop price on WIN / LOSS, last close on NEUTRAL), evaluated_at (UTC; NaT where
    still PENDING).
    """
    if horizon_bars < 1:
        raise ValueError(f"horizon_bars: {horizon_bars} must be >= 1")
    at = utc_timestamp(evaluated_at, "evaluated_at")
    n = len(signals)
    outcome = (
        signals["outcome"].fillna(PENDING).astype(str).to_numpy(dtype=object)
        if "outcome" in signals.columns
        else np.full(n, PENDING, dtype=object)
    )
    high_out = np.full(n, np.nan)
    low_out = np.full(n, np.nan)
    close_out = np.full(n, np.nan)
    pnl = np.full(n, np.nan)
    todo = np.flatnonzero(outcome == PENDING)

    layout = layout_of(bars)
    ts = timestamps_ns(bars["ts"], "ts")
    end = ts + pd.Timedelta(bar_interval).value
    if "session_close" in bars.columns:
        end = np.minimum(end, timestamps_ns(bars["session_close"], "session_close"))
    closed = end <= at.value

    codes = layout.categories.get_indexer(signals["symbol"].to_numpy()[todo])
    known = codes >= 0
    todo, codes = todo[known], codes[known]
    t0 = timestamps_ns(signals["signal_timestamp"], "signal_timestamp")[todo]
    # first bar starting at or after the signal = one past the last bar starting before it
    before = asof_rows(codes, t0 - 1, layout.codes, ts)
    first = np.where(before >= 0, before + 1, layout.starts[_symbol_slot(layout, codes)])
    stop_row = layout.stops[_symbol_slot(layout, codes)]

    steps = np.arange(horizon_bars)
    rows = first[:, None] + steps[None, :]
    usable = rows < stop_row[:, None]
    rows = np.where(usable, rows, 0)
    usable &= closed[rows]
    usable &= np.cumprod(usable, axis=1).astype(bool)  # stop at the first bar not yet closed

    open_ = bars["open"].to_numpy(np.float64)[rows]
    high = np.where(usable, bars["high"].to_numpy(np.float64)[rows], np.nan)
    low = np.where(usable, bars["low"].to_numpy(np.float64)[rows], np.nan)
    close = bars["close"].to_numpy(np.float64)[rows]
    entry = signals["entry_price"].to_numpy(np.float64)[todo]
    stop = signals["stop_loss"].to_numpy(np.float64)[todo]
    target = signals["target_price"].to_numpy(np.float64)[todo]
    side = np.where(signals["signal_type"].to_numpy()[todo] == "SHORT", -1.0, 1.0)

    each = np.arange(len(todo))
    with np.errstate(invalid="ignore"):
        long = side[:, None] > 0
        reaches_entry = usable & np.where(long, low <= entry[:, None], high >= entry[:, None])
        filled = reaches_entry.any(axis=1)
        fill_bar = np.where(filled, np.argmax(reaches_entry, axis=1), horizon_bars)
        fill_open = open_[each, np.minimum(fill_bar, horizon_bars - 1)]
        at_open = np.where(side > 0, fill_open <= entry, fill_open >= entry)
        hit_target = np.where(long, high >= target[:, None], low <= target[:, None])
        hit_stop = np.where(long, low <= stop[:, None], high >= stop[:, None])
    from_fill = steps[None, :] >= fill_bar[:, None]
    # in the fill bar the target only counts if the bar opened through the entry: otherwise
    # it may have been reached before the fill
    target_counts = (steps[None, :] > fill_bar[:, None]) | (from_fill & at_open[:, None])
    hit_stop &= usable & from_fill
    hit_target &= usable & target_counts
    hit = hit_target | hit_stop
    any_hit = hit.any(axis=1)
    first_hit = np.argmax(hit, axis=1)
    n_usable = usable.sum(axis=1)
    lost = any_hit & hit_stop[each, first_hit]
    won = any_hit & ~lost
    neutral = ~any_hit & (n_usable == horizon_bars)
    decided = any_hit | neutral

    last = np.where(any_hit, first_hit, n_usable - 1)
    walked = steps[None, :] <= last[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: nothing walked yet
        span_high = np.nanmax(np.where(walked, high, np.nan), axis=1)
        span_low = np.nanmin(np.where(walked, low, np.nan), axis=1)
    last_close = close[each, np.maximum(last, 0)]
    exit_price = np.where(won, target, np.where(lost, stop, np.where(filled, last_close, entry)))
    result_pct = side * (exit_price - entry) / entry * 100.0

    result = np.where(won, WIN, np.where(lost, LOSS, np.where(neutral, NEUTRAL, PENDING)))
    outcome[todo] = result
    high_out[todo] = np.where(decided, span_high, np.nan)
    low_out[todo] = np.where(decided, span_low, np.nan)
    close_out[todo] = np.where(decided, last_close, np.nan)
    pnl[todo] = np.where(decided, result_pct, np.nan)
    evaluated = np.zeros(n, dtype=bool)
    evaluated[todo] = decided
    return pd.DataFrame(
        {
            "outcome": pd.array(outcome, dtype="str"),
            "actual_high": high_out,
            "actual_low": low_out,
            "actual_close": close_out,
            "pnl_pct": pnl,
            "evaluated_at": pd.DatetimeIndex(
                np.where(evaluated, at.value, np.iinfo(np.int64).min).view("M8[ns]"), tz="UTC"
            ),
        },
        index=signals.index,
    )


def calibration(
    signals: pd.DataFrame, edges: tuple[float, ...] = CALIBRATION_EDGES
) -> pd.DataFrame:
    """Does a 0.8-confidence signal win 80 % of the time? One row per confidence bucket.

    `signals`: confidence and outcome. Buckets are [edge_i, edge_i+1), the last one closed
    (0.9-1.0 includes 1.0); signals below the first edge and PENDING ones are left out.
    Columns: bucket ("0.5-0.6"), lower, upper, signals (decided: WIN + LOSS + NEUTRAL), wins,
    losses, neutrals, win_rate (wins / signals, NaN when empty), mean_confidence.
    """
    confidence = signals["confidence"].to_numpy(np.float64)
    outcome = signals["outcome"].astype(str).to_numpy()
    decided = np.isin(outcome, (WIN, LOSS, NEUTRAL))
    edge = np.asarray(edges, dtype=np.float64)
    bucket = np.searchsorted(edge, confidence, side="right") - 1
    bucket[confidence == edge[-1]] = len(edge) - 2
    inside = decided & (bucket >= 0) & (bucket < len(edge) - 1)
    b = bucket[inside]
    size = len(edge) - 1
    count = np.bincount(b, minlength=size)
    wins = np.bincount(b, weights=outcome[inside] == WIN, minlength=size).astype(np.int64)
    losses = np.bincount(b, weights=outcome[inside] == LOSS, minlength=size).astype(np.int64)
    conf_sum = np.bincount(b, weights=confidence[inside], minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        win_rate = np.where(count > 0, wins / count, np.nan)
        mean_conf = np.where(count > 0, conf_sum / count, np.nan)
    return pd.DataFrame(
        {
            "bucket": [f"{lo:.1f}-{hi:.1f}" for lo, hi in itertools.pairwise(edge)],
            "lower": edge[:-1],
            "upper": edge[1:],
            "signals": count.astype(np.int64),
            "wins": wins,
            "losses": losses,
            "neutrals": count - wins - losses,
            "win_rate": win_rate,
            "mean_confidence": mean_conf,
        }
    )


def _symbol_slot(layout: SymbolLayout, codes: np.ndarray) -> np.ndarray:
    """Position in layout.starts of each symbol code."""
    slot = np.full(len(layout.categories), -1, dtype=np.int64)
    slot[layout.codes[layout.starts]] = np.arange(len(layout.starts))
    return slot[codes]
