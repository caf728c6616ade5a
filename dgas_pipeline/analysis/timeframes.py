"""Higher timeframes on the exchange's session boundaries, and how timeframes are combined.

Resampling: within each (symbol, session), a base bar starting at `ts` falls in bucket
floor((ts - session_open) / timeframe). A bucket starts at session_open + k x timeframe and
ends at the earlier of its start + timeframe and the session close, so a 4h bar never spans
two sessions (09:30-13:30 and 13:30-16:00 on a normal NYSE day, 09:30-13:00 on an early close)
and the last bar of a session is cut at the close.

No look-ahead: a higher-timeframe bar is usable only once it has closed (`end <= as_of`).
`closed_bars` drops the others; `asof_positions` picks, for a bar of another timeframe ending
at T, the latest bar of this one that ended by T.

Combining timeframes (DRUMMOND.md "Multi-timeframe coordination"): `timeframe_alignment`
scores the agreement of the higher and trading timeframes' states, `confluence_zones` finds
zones that at least two timeframes agree on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dgas_pipeline.analysis._layout import (
    asof_rows,
    layout_of,
    take,
    timestamps_ns,
    utc_ns_series,
    utc_timestamp,
)
from dgas_pipeline.analysis.parameters import CoordinationParameters
from dgas_pipeline.analysis.states import STATES, states_compatible

DEFAULT_COORDINATION = CoordinationParameters()
SESSION_COLUMNS = ("session", "session_open", "session_close")
ROLES = ("higher", "trading", "lower")


def resample_bars(bars: pd.DataFrame, timeframe: str | pd.Timedelta) -> pd.DataFrame:
    """Bars of `timeframe` built from base bars, never across a session boundary.

    Input: base bars sorted by (symbol, ts) with symbol, ts, open, high, low, close, volume,
    session_open, session_close (tz-aware) and optionally session (carried through as given).
    Output, sorted by (symbol, ts): symbol (categorical), ts (bucket start), end (bucket end,
    cut at the session close), open, high, low, close, volume, session (if given),
    session_open, session_close, bar_count (base bars in the bucket). A bucket whose end lies
    after the last base bar is still forming: see `closed_bars`.
    """
    step = timeframe_ns(timeframe)
    layout = layout_of(bars)
    for name in ("session_open", "session_close", "volume"):
        if name not in bars.columns:
            raise ValueError(f"bars: missing column {name!r} (needed to resample)")
    ts = timestamps_ns(bars["ts"], "ts")
    opens = timestamps_ns(bars["session_open"], "session_open")
    closes = timestamps_ns(bars["session_close"], "session_close")
    prices = {
        name: bars[name].to_numpy(np.float64) for name in ("open", "high", "low", "close", "volume")
    }
    rs = resample_arrays(layout.codes, ts, opens, closes, prices, step)
    out: dict[str, object] = {
        "symbol": pd.Categorical.from_codes(rs.codes, categories=layout.categories),
        "ts": utc_ns_series(rs.start).array,
        "end": utc_ns_series(rs.end).array,
        **rs.prices,
    }
    if "session" in bars.columns:
        out["session"] = bars["session"].to_numpy()[rs.first]
    out["session_open"] = utc_ns_series(opens[rs.first]).array
    out["session_close"] = utc_ns_series(closes[rs.first]).array
    out["bar_count"] = rs.bar_count
    return pd.DataFrame(out)


def timeframe_ns(timeframe: str | pd.Timedelta) -> int:
    """A timeframe such as "30min", "1h", "4h" as nanoseconds; zero or negative is refused."""
    try:
        step = pd.Timedelta(timeframe).value
    except ValueError as exc:
        expected = "a duration such as '30min', '1h', '4h'"
        raise ValueError(f"timeframe: {timeframe!r} is not {expected}") from exc
    if step <= 0:
        raise ValueError(f"timeframe: {timeframe!r} must be a positive duration")
    return int(step)


@dataclass(frozen=True, slots=True)
class Resampled:
    """Resampled bars as arrays: `first` is each bucket's first base row."""

    codes: np.ndarray
    start: np.ndarray
    end: np.ndarray
    first: np.ndarray
    bar_count: np.ndarray
    prices: dict[str, np.ndarray]


def resample_arrays(
    codes: np.ndarray,
    ts: np.ndarray,
    opens: np.ndarray,
    closes: np.ndarray,
    prices: dict[str, np.ndarray],
    step: int,
) -> Resampled:
    bucket = opens + ((ts - opens) // step) * step
    n = len(ts)
    new = np.ones(n, dtype=bool)
    if n:
        new[1:] = (bucket[1:] != bucket[:-1]) | (codes[1:] != codes[:-1])
    starts = np.flatnonzero(new)
    lasts = np.append(starts[1:], n)[: len(starts)] - 1
    out = {
        "open": prices["open"][starts],
        "high": np.maximum.reduceat(prices["high"], starts) if n else prices["high"],
        "low": np.minimum.reduceat(prices["low"], starts) if n else prices["low"],
        "close": prices["close"][lasts],
        "volume": np.add.reduceat(prices["volume"], starts) if n else prices["volume"],
    }
    return Resampled(
        codes=codes[starts],
        start=bucket[starts],
        end=np.minimum(bucket[starts] + step, closes[starts]),
        first=starts,
        bar_count=(lasts - starts + 1).astype(np.int32),
        prices=out,
    )


def closed_bars(frame: pd.DataFrame, as_of: object) -> pd.DataFrame:
    """The bars of a resampled frame that had closed by `as_of` (end <= as_of)."""
    cutoff = utc_timestamp(as_of, "as_of").value
    ends = timestamps_ns(frame["end"], "end")
    return frame.loc[ends <= cutoff].reset_index(drop=True)


def asof_positions(
    left: pd.DataFrame, right: pd.DataFrame, *, left_time: str = "end"
) -> np.ndarray:
    """Row positions in `right` of the latest bar of the same symbol with end <= left's time.

    Both frames sorted by (symbol, ts) with the same symbol categories (as `resample_bars`
    makes them). -1 where the symbol has no such bar yet.
    """
    lo, ro = layout_of(left), layout_of(right)
    left_ns = timestamps_ns(left[left_time], left_time)
    right_ns = timestamps_ns(right["end"], "end")
    if lo.categories.equals(ro.categories):
        return asof_rows(lo.codes, left_ns, ro.codes, right_ns)
    names = lo.categories.union(ro.categories)
    left_codes = names.get_indexer(lo.categories)[lo.codes].astype(np.int64)
    right_codes = names.get_indexer(ro.categories)[ro.codes].astype(np.int64)
    order = np.lexsort((right_ns, right_codes))
    found = asof_rows(left_codes, left_ns, right_codes[order], right_ns[order])
    return take(order, found, -1)


def timeframe_alignment(
    higher: pd.DataFrame,
    trading: pd.DataFrame,
    min_alignment: float = 0.6,
    params: CoordinationParameters = DEFAULT_COORDINATION,
) -> pd.DataFrame:
    """Alignment of row-aligned higher and trading timeframe states.

    Both frames carry `state`, `direction`, `state_confidence` (compute_indicators output),
    row i of one paired with row i of the other. Returns `alignment_score` in [0, 1] (NaN where
    a state is unknown) and `trade_permitted` (directions equal or higher neutral, and score
    >= min_alignment), indexed like `trading`.
    """
    score = alignment_arrays(
        _state_codes(higher["state"]),
        higher["direction"].to_numpy(np.int8),
        higher["state_confidence"].to_numpy(np.float64),
        _state_codes(trading["state"]),
        trading["direction"].to_numpy(np.int8),
        trading["state_confidence"].to_numpy(np.float64),
        params,
    )
    permitted = permitted_arrays(
        higher["direction"].to_numpy(np.int8),
        trading["direction"].to_numpy(np.int8),
        score,
        min_alignment,
    )
    return pd.DataFrame(
        {"alignment_score": score, "trade_permitted": permitted}, index=trading.index
    )


def alignment_arrays(
    htf_state: np.ndarray,
    htf_direction: np.ndarray,
    htf_confidence: np.ndarray,
    state: np.ndarray,
    direction: np.ndarray,
    confidence: np.ndarray,
    params: CoordinationParameters,
) -> np.ndarray:
    same_direction = htf_direction == direction
    one_neutral = ~same_direction & ((htf_direction == 0) | (direction == 0))
    same_state = htf_state == state
    compatible = ~same_state & states_compatible(htf_state, state)
    score = (
        params.align_same_direction * same_direction
        + params.align_one_neutral * one_neutral
        + params.align_same_state * same_state
        + params.align_compatible_state * compatible
        + params.align_confidence_weight * (htf_confidence + confidence) / 2.0
    )
    score = np.clip(score, 0.0, 1.0)
    score[(htf_state < 0) | (state < 0)] = np.nan
    return score


def permitted_arrays(
    htf_direction: np.ndarray, direction: np.ndarray, score: np.ndarray, min_alignment: float
) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return ((htf_direction == direction) | (htf_direction == 0)) & (score >= min_alignment)


def _state_codes(state: pd.Series) -> np.ndarray:
    return pd.Categorical(state, categories=list(STATES)).codes.astype(np.int8)


@dataclass(frozen=True, slots=True)
class Confluence:
    """Confluence zones as parallel arrays, ordered by (group, kind, level)."""

    group: np.ndarray
    kind: np.ndarray
    level: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    roles: np.ndarray  # bit mask: 1 higher, 2 trading, 4 lower
    n_timeframes: np.ndarray
    weighted_strength: np.ndarray
    lines: np.ndarray


def confluence_zones(
    zones: pd.DataFrame, params: CoordinationParameters = DEFAULT_COORDINATION
) -> pd.DataFrame:
    """Zones that at least two timeframes agree on.

    `zones`: one row per single-timeframe zone with `symbol`, `role` ("higher" / "trading" /
    "lower"), `kind`, `level`, `lower`, `upper`, `weight` and `close` (the trading close the
    tolerance is a fraction of). Zones of one symbol and kind whose levels chain within
    confluence_tolerance x close merge. Returns symbol, kind, level (timeframe-weighted mean),
    lower, upper, timeframes (roles, higher first), n_timeframes, weighted_strength (sum of
    the roles' weights: higher 1.5, trading 1.0, lower 0.75) and lines (lines merged).
    """
    group, names = pd.factorize(zones["symbol"], sort=False)
    kinds = zones["kind"].map({"support": 0, "resistance": 1}).to_numpy(np.int8)
    roles = zones["role"].map({r: i for i, r in enumerate(ROLES)}).to_numpy(np.int8)
    found = confluence_arrays(
        group.astype(np.int64),
        roles,
        kinds,
        zones["level"].to_numpy(np.float64),
        zones["lower"].to_numpy(np.float64),
        zones["upper"].to_numpy(np.float64),
        zones["weight"].to_numpy(np.int64),
        zones["close"].to_numpy(np.float64),
        params,
    )
    return pd.DataFrame(
        {
            "symbol": np.asarray(names)[found.group],
            "kind": np.where(found.kind == 0, "support", "resistance"),
            "level": found.level,
            "lower": found.lower,
            "upper": found.upper,
            "timeframes": [role_names(int(m)) for m in found.roles],
            "n_timeframes": found.n_timeframes,
            "weighted_strength": found.weighted_strength,
            "lines": found.lines,
        }
    )


def role_names(mask: int) -> list[str]:
    return [role for bit, role in enumerate(ROLES) if mask & (1 << bit)]


def confluence_arrays(
    group: np.ndarray,
    role: np.ndarray,
    kind: np.ndarray,
    level: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    weight: np.ndarray,
    close: np.ndarray,
    params: CoordinationParameters,
) -> Confluence:
    role_weight = np.array([params.weight_higher, params.weight_trading, params.weight_lower])
    order = np.lexsort((level, kind, group))
    g, r, k = group[order], role[order], kind[order]
    lv, lo, up, w = level[order], lower[order], upper[order], weight[order]
    tol = params.confluence_tolerance * close[order]
    n = len(order)
    start = np.ones(n, dtype=bool)
    if n:
        start[1:] = (g[1:] != g[:-1]) | (k[1:] != k[:-1]) | (np.diff(lv) > tol[1:])
    starts = np.flatnonzero(start)
    if not n:
        empty_f = np.array([], dtype=np.float64)
        empty_i = np.array([], dtype=np.int64)
        return Confluence(
            empty_i, empty_i, empty_f, empty_f, empty_f, empty_i, empty_i, empty_f, empty_i
        )
    bits = (1 << r.astype(np.int64)).astype(np.int64)
    mask = np.bitwise_or.reduceat(bits, starts)
    n_tf = ((mask & 1) > 0).astype(np.int64) + ((mask & 2) > 0) + ((mask & 4) > 0)
    strength = sum(role_weight[i] * ((mask >> i) & 1) for i in range(3))
    member_weight = role_weight[r]
    centre = np.add.reduceat(lv * member_weight, starts) / np.add.reduceat(member_weight, starts)
    keep = n_tf >= 2
    return Confluence(
        group=g[starts][keep],
        kind=k[starts][keep],
        level=centre[keep],
        lower=np.minimum.reduceat(lo, starts)[keep],
        upper=np.maximum.reduceat(up, starts)[keep],
        roles=mask[keep],
        n_timeframes=n_tf[keep],
        weighted_strength=np.asarray(strength)[keep],
        lines=np.add.reduceat(w, starts)[keep],
    )
