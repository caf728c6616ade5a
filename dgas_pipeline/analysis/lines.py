"""Drummond lines (two-bar projections one bar ahead) and the zones where they agree.

A bar's resistance line runs through its high and the previous bar's high and is read one bar
ahead: 2 x high - previous high. Its support line does the same with lows. A zone is a set of
recent lines of one kind that lie within `zone_tolerance` (a fraction of the close) of each
other, chained (single linkage): where several short-term lines point at the same price, the
market is expected to stop or turn. Its weight is how many lines agree.

The zones of a bar pool the lines of the last `zone_lookback` bars up to and including it, so
they are known when the bar closes and look at what comes next.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dgas_pipeline.analysis._layout import SymbolLayout, layout_of, take
from dgas_pipeline.analysis.parameters import DrummondParameters

DEFAULT_PARAMETERS = DrummondParameters()
ZONE_KINDS = ("support", "resistance")
ZONE_COLUMNS = ("symbol", "ts", "kind", "level", "lower", "upper", "weight")


def drummond_lines(bars: pd.DataFrame) -> pd.DataFrame:
    """`support_line` and `resistance_line` of every bar (NaN on each symbol's first bar)."""
    layout = layout_of(bars)
    cols = line_arrays(layout, bars["high"].to_numpy(np.float64), bars["low"].to_numpy(np.float64))
    return pd.DataFrame(cols, index=bars.index)


def drummond_zones(
    frame: pd.DataFrame,
    params: DrummondParameters = DEFAULT_PARAMETERS,
    *,
    rows: np.ndarray | None = None,
) -> pd.DataFrame:
    """Zones known at the close of some bars, one row per zone.

    `frame` holds bars with `support_line`, `resistance_line` (e.g. `compute_indicators`
    output). `rows` are positional row numbers; by default each symbol's newest bar. Columns:
    symbol, ts (of the bar the zones belong to), kind ("support" / "resistance"), level (mean
    of the lines), lower, upper, weight (lines merged); zones lighter than min_zone_weight are
    left out. Sorted by row, kind, level.
    """
    layout = layout_of(frame)
    at = layout.last_rows if rows is None else np.asarray(rows, dtype=np.int64)
    zones = zones_at_rows(
        layout,
        frame["support_line"].to_numpy(np.float64),
        frame["resistance_line"].to_numpy(np.float64),
        frame["close"].to_numpy(np.float64),
        at,
        params,
    )
    picked = at[zones.row]
    return pd.DataFrame(
        {
            "symbol": frame["symbol"].to_numpy()[picked],
            "ts": frame["ts"].to_numpy()[picked],
            "kind": np.asarray(ZONE_KINDS, dtype=object)[zones.kind],
            "level": zones.level,
            "lower": zones.lower,
            "upper": zones.upper,
            "weight": zones.weight,
        }
    )


def line_arrays(layout: SymbolLayout, high: np.ndarray, low: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "support_line": 2.0 * low - layout.shift(low, 1),
        "resistance_line": 2.0 * high - layout.shift(high, 1),
    }


@dataclass(frozen=True, slots=True)
class ZoneSet:
    """Zones of several bars as parallel arrays; `row` indexes the `rows` they were asked for."""

    row: np.ndarray
    kind: np.ndarray  # 0 support, 1 resistance
    level: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    weight: np.ndarray


def zones_at_rows(
    layout: SymbolLayout,
    support: np.ndarray,
    resistance: np.ndarray,
    close: np.ndarray,
    rows: np.ndarray,
    params: DrummondParameters,
) -> ZoneSet:
    """Zones of both kinds at `rows`, ordered by (row, kind, level)."""
    parts = []
    for kind_code, line in enumerate((support, resistance)):
        pooled = recent_lines(layout, line, rows, params.zone_lookback)
        tol = params.zone_tolerance * close[rows]
        seg = _segments(pooled, tol)
        keep = seg.weight >= params.min_zone_weight
        parts.append(
            (
                seg.row[keep],
                np.full(int(keep.sum()), kind_code, dtype=np.int8),
                seg.level[keep],
                seg.lower[keep],
                seg.upper[keep],
                seg.weight[keep],
            )
        )
    row, kind, level, lower, upper, weight = (np.concatenate(p) for p in zip(*parts, strict=True))
    order = np.lexsort((level, kind, row))
    return ZoneSet(row[order], kind[order], level[order], lower[order], upper[order], weight[order])


def recent_lines(
    layout: SymbolLayout, line: np.ndarray, rows: np.ndarray, lookback: int
) -> np.ndarray:
    """(len(rows), lookback) matrix of the lines of each row and the bars before it, sorted
    ascending along each row, NaN (sorted last) where the symbol has no such bar."""
    back = np.arange(lookback)
    there = layout.pos[rows][:, None] >= back
    pooled = take(line, np.where(there, rows[:, None] - back, -1), np.nan)
    pooled.sort(axis=1)
    return pooled


@dataclass(frozen=True, slots=True)
class _Segments:
    row: np.ndarray
    level: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    weight: np.ndarray
    element_weight: np.ndarray  # (rows, lookback): weight of each line's zone, 0 for NaN


def _segments(pooled: np.ndarray, tol: np.ndarray) -> _Segments:
    """Single-linkage clusters of each row of a row-sorted matrix."""
    n, width = pooled.shape
    valid = ~np.isnan(pooled)
    breaks = np.ones((n, width), dtype=bool)
    with np.errstate(invalid="ignore"):
        breaks[:, 1:] = ~(np.diff(pooled, axis=1) <= tol[:, None])
    cluster = np.cumsum(breaks, axis=1) - 1
    key = (np.arange(n)[:, None] * width + cluster)[valid]
    weight_by_key = np.bincount(key, minlength=n * width)
    element_weight = np.zeros((n, width), dtype=np.int64)
    element_weight[valid] = weight_by_key[key]
    values = pooled[valid]
    starts = np.flatnonzero(breaks[valid]) if values.size else np.array([], dtype=np.int64)
    counts = np.diff(np.append(starts, values.size))
    if values.size:
        sums = np.add.reduceat(values, starts)
        lower = values[starts]
        upper = values[starts + counts - 1]
        row = key[starts] // width
    else:
        sums = lower = upper = np.array([], dtype=np.float64)
        row = np.array([], dtype=np.int64)
    return _Segments(row, sums / np.maximum(counts, 1), lower, upper, counts, element_weight)


def zone_weights_of_lines(pooled: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """Weight of the zone each pooled line belongs to (0 where there is no line)."""
    return _segments(pooled, tol).element_weight
