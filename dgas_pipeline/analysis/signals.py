"""LONG / SHORT signals from the higher, trading and lower timeframes, and their aggregation.

One decision per symbol and trading-timeframe bar, taken when that bar closes (time T, its
end; T is the signal's `signal_timestamp`). The decision sees only bars that had closed by T:
the trading bar itself, the latest higher- and lower-timeframe bars with end <= T, and
history before them. So the live call (`generate_signals`, newest closed trading bar as of
`as_of`) and the backfill call (`generate_signals_range`, every trading bar in a window)
give the same answer for a bar, whatever later data exists.

Recipe (DRUMMOND.md): the higher timeframe gives the direction when the alignment permits a
trade; strength, confidence, entry, stop and target follow the formulas documented on
`parameters.CoordinationParameters`; signals under the thresholds are dropped.

Work is done in chunks of whole symbols (vectorised across the symbols of a chunk) so memory
stays bounded with thousands of symbols.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dgas_pipeline.analysis._layout import (
    SymbolLayout,
    asof_rows,
    layout_and_times,
    layout_from_codes,
    take,
    timestamps_ns,
    utc_ns_series,
    utc_timestamp,
)
from dgas_pipeline.analysis.indicators import indicator_arrays
from dgas_pipeline.analysis.lines import line_arrays, zones_at_rows
from dgas_pipeline.analysis.parameters import CoordinationParameters, DrummondParameters
from dgas_pipeline.analysis.patterns import (
    PATTERN_COLUMNS,
    PATTERNS,
    TERMINATION_COLUMNS,
    termination_arrays,
)
from dgas_pipeline.analysis.states import DIRECTION_NAMES, STATES
from dgas_pipeline.analysis.timeframes import (
    ROLES,
    Confluence,
    alignment_arrays,
    confluence_arrays,
    permitted_arrays,
    resample_arrays,
    role_names,
    timeframe_ns,
)

DEFAULT_TIMEFRAMES = ("4h", "1h", "30min")
DEFAULT_PARAMETERS = DrummondParameters()
DEFAULT_COORDINATION = CoordinationParameters()
DEFAULT_CHUNK_ROWS = 250_000
LOWER = ROLES.index("lower")  # position of the lower timeframe in `timeframes`

LONG = "LONG"
SHORT = "SHORT"
FLOAT_COLUMNS = (
    "entry_price",
    "stop_loss",
    "target_price",
    "confidence",
    "signal_strength",
    "timeframe_alignment",
    "risk_reward_ratio",
)
SIGNAL_COLUMNS = (
    "symbol",
    "signal_timestamp",
    "signal_type",
    *FLOAT_COLUMNS,
    "htf_trend",
    "htf_timeframe",
    "trading_timeframe",
    "trading_tf_state",
    "confluence_zones_count",
    "pattern_context",
)
TEXT_COLUMNS = (
    "symbol",
    "signal_type",
    "htf_trend",
    "htf_timeframe",
    "trading_timeframe",
    "trading_tf_state",
)


@dataclass(frozen=True, slots=True)
class SignalThresholds:
    """The cut-offs a user configures (SchedulerConfig maps onto these fields).

    enabled_patterns: pattern names (see patterns.PATTERNS, any case) allowed to confirm a
    signal; None means all of them, an empty tuple none.
    """

    min_confidence: float = 0.6
    min_signal_strength: float = 0.5
    min_alignment: float = 0.6
    enabled_patterns: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("min_confidence", "min_signal_strength", "min_alignment"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}: {value!r} must be between 0 and 1")
        if self.enabled_patterns is not None:
            names = tuple(str(p).upper() for p in self.enabled_patterns)
            unknown = [p for p in names if p not in PATTERNS]
            if unknown:
                raise ValueError(f"enabled_patterns: {unknown} not in {list(PATTERNS)}")
            object.__setattr__(self, "enabled_patterns", names)

    @property
    def patterns(self) -> tuple[str, ...]:
        return PATTERNS if self.enabled_patterns is None else self.enabled_patterns


def generate_signals(
    bars: pd.DataFrame,
    as_of: object,
    timeframes: Sequence[str] = DEFAULT_TIMEFRAMES,
    thresholds: SignalThresholds | None = None,
    *,
    params: DrummondParameters = DEFAULT_PARAMETERS,
    coordination: CoordinationParameters = DEFAULT_COORDINATION,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> pd.DataFrame:
    """Signals of each symbol's newest trading-timeframe bar that had closed by `as_of`.

    `bars`: base bars, one row per (symbol, bar), sorted by (symbol, ts), with symbol, ts,
    open, high, low, close, volume, session_open, session_close (tz-aware). Bars starting at
    or after `as_of` are ignored, and so is every bar of a timeframe that closes after it.
    `timeframes`: (higher, trading[, lower]), strictly decreasing durations.
    Returns at most one row per symbol with SIGNAL_COLUMNS (see `generated_signals`).
    """
    cutoff = utc_timestamp(as_of, "as_of").value
    return _generate(bars, cutoff, None, timeframes, thresholds, params, coordination, chunk_rows)


def generate_signals_range(
    bars: pd.DataFrame,
    start: object,
    end: object,
    timeframes: Sequence[str] = DEFAULT_TIMEFRAMES,
    thresholds: SignalThresholds | None = None,
    *,
    params: DrummondParameters = DEFAULT_PARAMETERS,
    coordination: CoordinationParameters = DEFAULT_COORDINATION,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> pd.DataFrame:
    """Signals of every trading-timeframe bar whose end lies in (start, end], for backfills.

    Row for row what `generate_signals(bars, as_of=T)` returns for each such bar end T.
    Not aggregated: pass the result through `aggregate_signals` to drop near-duplicates.
    """
    lo = utc_timestamp(start, "start").value
    hi = utc_timestamp(end, "end").value
    if hi < lo:
        raise ValueError(f"end: {end!r} is before start {start!r}")
    return _generate(bars, hi, lo, timeframes, thresholds, params, coordination, chunk_rows)


def aggregate_signals(
    signals: pd.DataFrame,
    previous: pd.DataFrame | None = None,
    *,
    window: pd.Timedelta | None = None,
) -> pd.DataFrame:
    """`signals` without those within `window` (inclusive) of the previous kept signal of the
    same symbol and type.

    Taken in time order; `previous` (already kept signals, e.g. from the store) seed the
    "previous kept" of each symbol and type and are not returned. `window` defaults to
    CoordinationParameters.duplicate_window_minutes. Rows keep their order and index.
    """
    span = (
        pd.Timedelta(minutes=DEFAULT_COORDINATION.duplicate_window_minutes)
        if window is None
        else pd.Timedelta(window)
    ).value
    keys = ["symbol", "signal_type", "signal_timestamp"]
    new = signals[keys].copy()
    new["_row"] = np.arange(len(signals))
    parts = [new]
    if previous is not None and len(previous):
        seed = previous[keys].copy()
        seed["_row"] = -1
        parts.insert(0, seed)
    both = pd.concat(parts, ignore_index=True)
    both["_t"] = timestamps_ns(both["signal_timestamp"], "signal_timestamp")
    both = both.sort_values(["symbol", "signal_type", "_t", "_row"], kind="stable")
    group = pd.factorize(
        both["symbol"].astype(str) + "\x00" + both["signal_type"].astype(str), sort=False
    )[0]
    times = both["_t"].to_numpy()
    rows = both["_row"].to_numpy()
    kept = _greedy_keep(group, times, rows < 0, span)
    chosen = np.sort(rows[kept & (rows >= 0)])
    return signals.iloc[chosen]


def _greedy_keep(group: np.ndarray, times: np.ndarray, seeded: np.ndarray, span: int) -> np.ndarray:
    """Keep the first signal of each group, drop the ones within `span` of the last kept one,
    repeat; one vectorised round per kept signal of the busiest group."""
    n = len(times)
    kept = seeded.copy()
    open_ = ~seeded
    index = np.arange(n)
    first_of_group = np.ones(n, dtype=bool)
    first_of_group[1:] = group[1:] != group[:-1]
    group_start = np.maximum.accumulate(np.where(first_of_group, index, 0))
    while open_.any():
        last_kept = np.maximum.accumulate(np.where(kept, index, -1))
        has_kept = last_kept >= group_start
        close_to_kept = has_kept & (times - times[np.maximum(last_kept, 0)] <= span)
        open_ &= ~close_to_kept
        # the first still-open row of each group is kept this round
        candidates = np.flatnonzero(open_)
        if not len(candidates):
            break
        cand_group = group[candidates]
        first = np.ones(len(candidates), dtype=bool)
        first[1:] = cand_group[1:] != cand_group[:-1]
        newly = candidates[first]
        kept[newly] = True
        open_[newly] = False
    return kept


# --------------------------------------------------------------------------------------------
# the pipeline


@dataclass(frozen=True, slots=True)
class _Timeframe:
    layout: SymbolLayout
    start: np.ndarray
    end: np.ndarray
    cols: dict[str, np.ndarray]


def _check_timeframes(timeframes: Sequence[str]) -> list[int]:
    if isinstance(timeframes, str) or len(timeframes) not in (2, 3):
        raise ValueError(
            f"timeframes: {timeframes!r} must be (higher, trading) or (higher, trading, lower)"
        )
    steps = [timeframe_ns(tf) for tf in timeframes]
    if any(a <= b for a, b in itertools.pairwise(steps)):
        raise ValueError(
            f"timeframes: {list(timeframes)} must be strictly decreasing "
            "(the higher timeframe cannot equal the trading timeframe)"
        )
    return steps


def _generate(
    bars: pd.DataFrame,
    cutoff: int,
    window_start: int | None,
    timeframes: Sequence[str],
    thresholds: SignalThresholds | None,
    params: DrummondParameters,
    coordination: CoordinationParameters,
    chunk_rows: int,
) -> pd.DataFrame:
    steps = _check_timeframes(timeframes)
    thresholds = thresholds or SignalThresholds()
    for name in ("session_open", "session_close", "volume"):
        if name not in bars.columns:
            raise ValueError(f"bars: missing column {name!r}")
    layout, ts = layout_and_times(bars)
    whole = _BaseBars.read(bars, layout.codes, ts)
    results = []
    for lo, hi in itertools.pairwise(_chunk_bounds(layout, chunk_rows)):
        base = whole.started(lo, hi, cutoff)
        frames = [
            _timeframe(base, layout.categories, step, cutoff, params, lines_only=role == LOWER)
            for role, step in enumerate(steps)
        ]
        found = _decide(
            frames, window_start, cutoff, list(timeframes), thresholds, params, coordination
        )
        if found is not None:
            results.append(found)
    if not results:
        return _empty_signals()
    out = results[0] if len(results) == 1 else pd.concat(results, ignore_index=True)
    if len(out) < 2:  # the live call of one symbol: nothing to order
        return out
    return out.sort_values(["symbol", "signal_timestamp"], kind="stable", ignore_index=True)


def _chunk_bounds(layout: SymbolLayout, chunk_rows: int) -> list[int]:
    """Row bounds of chunks of whole symbols, each about chunk_rows rows."""
    if layout.size == 0:
        return [0, 0]
    bounds = [0]
    for start in layout.starts[1:]:
        if start - bounds[-1] >= chunk_rows:
            bounds.append(int(start))
    bounds.append(layout.size)
    return bounds


@dataclass(frozen=True, slots=True)
class _BaseBars:
    """Base bars as arrays, read from the frame once (views of its columns where the dtypes
    allow), then cut into chunks and resampled to every timeframe."""

    codes: np.ndarray
    ts: np.ndarray
    session_open: np.ndarray
    session_close: np.ndarray
    prices: dict[str, np.ndarray]

    @classmethod
    def read(cls, bars: pd.DataFrame, codes: np.ndarray, ts: np.ndarray) -> _BaseBars:
        return cls(
            codes,
            ts,
            timestamps_ns(bars["session_open"], "session_open"),
            timestamps_ns(bars["session_close"], "session_close"),
            {
                name: bars[name].to_numpy(np.float64)
                for name in ("open", "high", "low", "close", "volume")
            },
        )

    def started(self, lo: int, hi: int, cutoff: int) -> _BaseBars:
        """Rows lo..hi that had started by the cutoff."""
        keep = np.flatnonzero(self.ts[lo:hi] < cutoff) + lo
        return _BaseBars(
            self.codes[keep],
            self.ts[keep],
            self.session_open[keep],
            self.session_close[keep],
            {name: values[keep] for name, values in self.prices.items()},
        )


def _timeframe(
    base: _BaseBars,
    categories: pd.Index,
    step: int,
    cutoff: int,
    params: DrummondParameters,
    *,
    lines_only: bool = False,
) -> _Timeframe:
    """The closed bars of one timeframe with their indicators. `lines_only`: just the close
    and the Drummond lines, all the lower timeframe adds to a decision (its zones)."""
    rs = resample_arrays(
        base.codes, base.ts, base.session_open, base.session_close, base.prices, step
    )
    closed = rs.end <= cutoff
    layout = layout_from_codes(rs.codes[closed], categories)
    p = {name: values[closed] for name, values in rs.prices.items()}
    if lines_only:
        cols = {"close": p["close"], **line_arrays(layout, p["high"], p["low"])}
    else:
        cols = indicator_arrays(
            layout, p["high"], p["low"], p["close"], params, with_termination=False
        )
    return _Timeframe(layout, rs.start[closed], rs.end[closed], cols)


def _decide(
    frames: list[_Timeframe],
    window_start: int | None,
    cutoff: int,
    names: list[str],
    thresholds: SignalThresholds,
    params: DrummondParameters,
    co: CoordinationParameters,
) -> pd.DataFrame | None:
    higher, trading = frames[0], frames[1]
    lower = frames[2] if len(frames) == 3 else None
    tl = trading.layout
    if window_start is None:
        rows = tl.last_rows
    else:
        rows = np.flatnonzero((trading.end > window_start) & (trading.end <= cutoff))
    if not len(rows):
        return None
    t_end = trading.end[rows]
    codes = tl.codes[rows]
    # -1 where no higher-timeframe bar of the symbol had closed yet: unknown state, no
    # direction, hence no candidate (below)
    hi = asof_rows(codes, t_end, higher.layout.codes, higher.end)
    tc, hc = trading.cols, higher.cols
    h_state = take(hc["state"], hi, -1).astype(np.int8)
    h_dir = take(hc["direction"], hi, 0).astype(np.int8)
    h_conf = take(hc["state_confidence"], hi, np.nan)
    score = alignment_arrays(
        h_state,
        h_dir,
        h_conf,
        tc["state"][rows],
        tc["direction"][rows],
        tc["state_confidence"][rows],
        co,
    )
    permitted = permitted_arrays(h_dir, tc["direction"][rows], score, thresholds.min_alignment)
    candidate = permitted & (hi >= 0) & (h_dir != 0)
    if not candidate.any():
        return None

    # from here on, only the bars that can still become a signal; each has a higher bar
    rows, hi, score = rows[candidate], hi[candidate], score[candidate]
    h_conf = h_conf[candidate]
    direction = h_dir[candidate]
    n = len(rows)
    close = tc["close"][rows]
    lo = (
        asof_rows(tl.codes[rows], trading.end[rows], lower.layout.codes, lower.end)
        if lower is not None
        else np.full(n, -1, dtype=np.int64)
    )

    enabled = [PATTERN_COLUMNS[p] for p in thresholds.patterns]
    seen = _PatternsSeen.read(trading, higher, rows, hi, params, co)
    confirming = seen.confirming(direction, enabled)
    confirmed = confirming.any(axis=1) if enabled else np.zeros(n, dtype=bool)

    conf = _confluence(frames, [hi, rows, lo], close, params, co)
    zone_count = np.bincount(conf.group, minlength=n)
    best_tf = np.zeros(n, dtype=np.int64)
    np.maximum.at(best_tf, conf.group, conf.n_timeframes)
    zone_bonus = np.where(
        best_tf >= 3,
        co.strength_zone_bonus_three,
        np.where(best_tf >= 2, co.strength_zone_bonus_two, 0.0),
    )

    h_strength = hc["trend_strength"][hi]
    strength = np.clip(
        co.strength_alignment_weight * score
        + co.strength_htf_weight * h_strength
        + zone_bonus
        + co.strength_pattern_bonus * confirmed,
        0.0,
        1.0,
    )
    confidence = np.clip(
        co.confidence_alignment_weight * score
        + np.where(confirmed, co.confidence_pattern_confirmed, co.confidence_pattern_unconfirmed)
        + co.confidence_htf_weight * h_conf
        + co.confidence_zones_weight
        * np.minimum(zone_count, co.confidence_zones_cap)
        / co.confidence_zones_cap
        + co.confidence_strength_weight * strength,
        0.0,
        1.0,
    )

    # No confluence zone on the signal's side (possibly none at all): the entry is the close
    # (DRUMMOND.md), its "zone" the close alone; the stop then rests on the buffer.
    zone = _entry_zone(conf, direction, close, n)
    entry = take(conf.level, zone, close)
    z_lower = take(conf.lower, zone, close)
    z_upper = take(conf.upper, zone, close)
    env_half = np.nan_to_num(tc["env_width"][rows] / 2.0)
    buffer = np.maximum.reduce(
        [(z_upper - z_lower) / 2.0, env_half, co.min_stop_buffer * np.abs(entry)]
    )
    long = direction > 0
    stop = np.where(
        long,
        z_lower - co.stop_buffer_multiplier * buffer,
        z_upper + co.stop_buffer_multiplier * buffer,
    )
    risk = np.abs(entry - stop)
    target = np.where(long, entry + co.reward_risk * risk, entry - co.reward_risk * risk)
    with np.errstate(invalid="ignore", divide="ignore"):
        reward_risk = np.abs(target - entry) / risk

    keep = (
        (confidence >= thresholds.min_confidence)
        & (strength >= thresholds.min_signal_strength)
        & (risk > 0)
        & np.isfinite(entry)
    )
    if not keep.any():
        return None
    k = np.flatnonzero(keep)
    r = rows[k]
    contexts = _pattern_contexts(k, r, hi[k], frames, seen, confirming, conf, zone, thresholds)
    return _signal_frame(
        {
            "symbol": np.asarray(tl.categories, dtype=object)[tl.codes[r]],
            "signal_timestamp": utc_ns_series(trading.end[r]).array,
            "signal_type": np.where(long[k], LONG, SHORT).astype(object),
            "entry_price": entry[k],
            "stop_loss": stop[k],
            "target_price": target[k],
            "confidence": confidence[k],
            "signal_strength": strength[k],
            "timeframe_alignment": score[k],
            "risk_reward_ratio": reward_risk[k],
            "htf_trend": np.array([DIRECTION_NAMES[int(d)] for d in direction[k]], dtype=object),
            "htf_timeframe": names[0],
            "trading_timeframe": names[1],
            "trading_tf_state": np.asarray(STATES, dtype=object)[tc["state"][r]],
            "confluence_zones_count": zone_count[k].astype(np.int64),
            "pattern_context": contexts,
        },
        len(k),
    )


@dataclass(frozen=True, slots=True)
class _PatternsSeen:
    """Pattern values of the bars a decision reads: the trading bar and the
    pattern_lookback_bars - 1 bars before it (`trading[name][:, k]`, 0 where the symbol has
    no such bar), and the higher timeframe's bar (`higher[name]`)."""

    trading: dict[str, np.ndarray]
    higher: dict[str, np.ndarray]

    @classmethod
    def read(
        cls,
        trading: _Timeframe,
        higher: _Timeframe,
        rows: np.ndarray,
        hi: np.ndarray,
        params: DrummondParameters,
        co: CoordinationParameters,
    ) -> _PatternsSeen:
        lookback = co.pattern_lookback_bars
        back = rows[:, None] - np.arange(lookback)[None, :]
        present = trading.layout.pos[rows][:, None] >= np.arange(lookback)[None, :]
        wanted = back[present]
        at_rows = _pattern_values(trading, wanted, params)
        t_values = {}
        for name, values in at_rows.items():
            grid = np.zeros(back.shape, dtype=np.int8)
            grid[present] = values
            t_values[name] = grid
        return cls(t_values, _pattern_values(higher, hi, params))

    def confirming(self, direction: np.ndarray, enabled: list[str]) -> np.ndarray:
        """(signals, enabled patterns): seen pointing the signal's way on the trading bars or
        the higher timeframe's bar."""
        seen = np.zeros((len(direction), len(enabled)), dtype=bool)
        for j, column in enumerate(enabled):
            seen[:, j] = (self.trading[column] == direction[:, None]).any(axis=1)
            seen[:, j] |= self.higher[column] == direction
        return seen


def _pattern_values(
    frame: _Timeframe, rows: np.ndarray, params: DrummondParameters
) -> dict[str, np.ndarray]:
    """Every pattern column at `rows`; the termination ones computed just for those rows."""
    values = {
        column: frame.cols[column][rows]
        for column in PATTERN_COLUMNS.values()
        if column not in TERMINATION_COLUMNS
    }
    approach, touch = termination_arrays(frame.layout, frame.cols, params, rows)
    values["termination_approach"] = approach
    values["termination_touch"] = touch
    return values


def _confluence(
    frames: list[_Timeframe],
    rows_by_role: list[np.ndarray],
    close: np.ndarray,
    params: DrummondParameters,
    co: CoordinationParameters,
) -> Confluence:
    groups, roles, kinds, levels, lowers, uppers, weights = [], [], [], [], [], [], []
    for role, (frame, rows) in enumerate(zip(frames, rows_by_role, strict=False)):
        present = np.flatnonzero(rows >= 0)
        zones = zones_at_rows(
            frame.layout,
            frame.cols["support_line"],
            frame.cols["resistance_line"],
            frame.cols["close"],
            rows[present],
            params,
        )
        groups.append(present[zones.row])
        roles.append(np.full(len(zones.row), role, dtype=np.int8))
        kinds.append(zones.kind)
        levels.append(zones.level)
        lowers.append(zones.lower)
        uppers.append(zones.upper)
        weights.append(zones.weight)
    group = np.concatenate(groups)
    return confluence_arrays(
        group,
        np.concatenate(roles),
        np.concatenate(kinds),
        np.concatenate(levels),
        np.concatenate(lowers),
        np.concatenate(uppers),
        np.concatenate(weights),
        close[group],
        co,
    )


def _entry_zone(conf: Confluence, direction: np.ndarray, close: np.ndarray, n: int) -> np.ndarray:
    """Index into `conf` of each signal's entry zone (-1: none): the nearest support at or
    below the close for LONG, the nearest resistance at or above it for SHORT."""
    g = conf.group
    d = direction[g]
    eligible = np.where(d > 0, (conf.kind == 0) & (conf.level <= close[g]), False) | np.where(
        d < 0, (conf.kind == 1) & (conf.level >= close[g]), False
    )
    idx = np.flatnonzero(eligible)
    out = np.full(n, -1, dtype=np.int64)
    if not len(idx):
        return out
    distance = np.abs(conf.level[idx] - close[g[idx]])
    order = np.lexsort((distance, g[idx]))
    ordered = idx[order]
    first = np.ones(len(ordered), dtype=bool)
    first[1:] = g[ordered][1:] != g[ordered][:-1]
    out[g[ordered[first]]] = ordered[first]
    return out


def _pattern_contexts(
    k: np.ndarray,
    rows: np.ndarray,
    hi: np.ndarray,
    frames: list[_Timeframe],
    seen: _PatternsSeen,
    confirming: np.ndarray,
    conf: Confluence,
    zone: np.ndarray,
    thresholds: SignalThresholds,
) -> list[dict[str, Any]]:
    """JSON-able context of each kept signal: what the timeframes said and why."""
    higher, trading = frames[0], frames[1]
    enabled_names = thresholds.patterns
    out = []
    for i, r, h in zip(k, rows, hi, strict=True):
        z = int(zone[i])
        out.append(
            {
                "trading_bar_start": _iso(trading.start[r]),
                "trading_tf_direction": DIRECTION_NAMES[int(trading.cols["direction"][r])],
                "trading_tf_confidence": _num(trading.cols["state_confidence"][r]),
                "trading_pldot": _num(trading.cols["pldot"][r]),
                "htf_bar_end": _iso(higher.end[h]),
                "htf_state": STATES[int(higher.cols["state"][h])],
                "htf_confidence": _num(higher.cols["state_confidence"][h]),
                "htf_trend_strength": _num(higher.cols["trend_strength"][h]),
                "htf_pldot": _num(higher.cols["pldot"][h]),
                "confirming_patterns": [enabled_names[c] for c in np.flatnonzero(confirming[i])],
                "trading_tf_patterns": _patterns_at(seen.trading, i, 0),
                "htf_patterns": _patterns_at(seen.higher, i),
                "entry_zone": None
                if z < 0
                else {
                    "kind": "support" if conf.kind[z] == 0 else "resistance",
                    "level": _num(conf.level[z]),
                    "lower": _num(conf.lower[z]),
                    "upper": _num(conf.upper[z]),
                    "timeframes": role_names(int(conf.roles[z])),
                    "weighted_strength": _num(conf.weighted_strength[z]),
                    "lines": int(conf.lines[z]),
                },
            }
        )
    return out


def _patterns_at(values: dict[str, np.ndarray], *at: int) -> dict[str, int]:
    return {
        name: int(values[column][at])
        for name, column in PATTERN_COLUMNS.items()
        if values[column][at] != 0
    }


def _num(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def _iso(ns: int) -> str:
    return pd.Timestamp(int(ns), tz="UTC").isoformat()


def _empty_signals() -> pd.DataFrame:
    return _empty_template().copy()


@functools.cache
def _empty_template() -> pd.DataFrame:
    no_floats = np.array([], dtype=np.float64)
    return _signal_frame(
        {
            **dict.fromkeys(SIGNAL_COLUMNS, np.array([], dtype=object)),
            **dict.fromkeys(FLOAT_COLUMNS, no_floats),
            "signal_timestamp": utc_ns_series(np.array([], dtype=np.int64)).array,
            "confluence_zones_count": np.array([], dtype=np.int64),
        },
        0,
    )


def _signal_frame(columns: dict[str, Any], n: int) -> pd.DataFrame:
    """n signals as a frame of SIGNAL_COLUMNS with the contract's dtypes; text columns are
    built as strings here (a scalar stands for all rows) rather than converted afterwards."""
    return pd.DataFrame(
        {
            name: pd.array(_object_column(columns[name], n), dtype="str")
            if name in TEXT_COLUMNS
            else columns[name]
            for name in SIGNAL_COLUMNS
        },
        copy=False,  # every column is a fresh array already
    )


def _object_column(values: Any, n: int) -> np.ndarray:
    """`values` (an array of n, or one value for all n rows) as an object array."""
    if np.ndim(values):
        return np.asarray(values, dtype=object)
    return np.full(n, values, dtype=object)
