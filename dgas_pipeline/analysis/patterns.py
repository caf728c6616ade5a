"""Drummond patterns, one int8 column each: +1 bullish, -1 bearish, 0 not seen on that bar.

Each is decided on the bar's close from that bar and the bars before it:

- PLDOT_PUSH: push_bars closes in a row on the side of the PLdot it slopes towards, the
  PLdot sloping that way each time (price pushing the point of balance along). Its way.
- PLDOT_REFRESH: the bar's range touches the PLdot within refresh_lookback bars after a push
  ended - price coming back to balance in a trend; the push's way (continuation).
- EXHAUST: the previous close was outside the envelope and this one is back inside: the move
  ran out of energy. Against the extension.
- C_WAVE: c_wave_bars closes in a row on one side of the PLdot, each further than the last,
  the envelope widening each bar. Its way.
- CONGESTION_OSCILLATION: oscillation_bars closes alternating sides of the PLdot, all inside
  the envelope. Towards the middle: +1 from the lower half, -1 from the upper half.
- TERMINATION_TOUCH: the bar's range (widened by zone_tolerance) reaches a zone that was
  known at the previous close. +1 at support, -1 at resistance (the nearer one if both).
- TERMINATION_APPROACH: no touch, but the close is within termination_approach of such a zone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dgas_pipeline.analysis._layout import SymbolLayout, take
from dgas_pipeline.analysis.lines import recent_lines, zone_weights_of_lines
from dgas_pipeline.analysis.parameters import DrummondParameters

PLDOT_PUSH = "PLDOT_PUSH"
PLDOT_REFRESH = "PLDOT_REFRESH"
EXHAUST = "EXHAUST"
C_WAVE = "C_WAVE"
CONGESTION_OSCILLATION = "CONGESTION_OSCILLATION"
TERMINATION_APPROACH = "TERMINATION_APPROACH"
TERMINATION_TOUCH = "TERMINATION_TOUCH"
PATTERNS = (
    PLDOT_PUSH,
    PLDOT_REFRESH,
    EXHAUST,
    C_WAVE,
    CONGESTION_OSCILLATION,
    TERMINATION_APPROACH,
    TERMINATION_TOUCH,
)
PATTERN_COLUMNS = {name: name.lower() for name in PATTERNS}
TERMINATION_COLUMNS = ("termination_approach", "termination_touch")


def pattern_events(indicators: pd.DataFrame) -> pd.DataFrame:
    """The pattern columns of an indicator frame as one row per (bar, pattern) seen.

    Columns: symbol, ts, pattern (upper-case name), direction (+1 / -1). Handy for reports
    and for the pattern context of a signal; the wide columns stay the source of truth.
    """
    parts = []
    for name, column in PATTERN_COLUMNS.items():
        values = indicators[column].to_numpy()
        hit = np.flatnonzero(values != 0)
        parts.append(
            pd.DataFrame(
                {
                    "symbol": indicators["symbol"].to_numpy()[hit],
                    "ts": indicators["ts"].iloc[hit].to_numpy(),
                    "pattern": name,
                    "direction": values[hit].astype(np.int8),
                }
            )
        )
    events = pd.concat(parts, ignore_index=True)
    return events.sort_values(["symbol", "ts", "pattern"], kind="stable", ignore_index=True)


def pattern_arrays(
    layout: SymbolLayout,
    cols: dict[str, np.ndarray],
    params: DrummondParameters,
    *,
    with_termination: bool = True,
) -> dict[str, np.ndarray]:
    """Every pattern column from the PLdot, envelope, state and line columns in `cols`.

    The termination patterns are most of the cost (a zone clustering per bar);
    `with_termination=False` leaves them out for callers that only read a few bars and ask
    `termination_arrays` for those.
    """
    high, low, close = cols["high"], cols["low"], cols["close"]
    center, trend, side = cols["pldot"], cols["pldot_trend"], cols["side"]
    upper, lower, width = cols["env_upper"], cols["env_lower"], cols["env_width"]
    out: dict[str, np.ndarray] = {}

    pushing = np.where((side == trend) & (side != 0), side, 0).astype(np.int8)
    push = layout.persistent(pushing, params.push_bars)
    out["pldot_push"] = push

    touches = (low <= center) & (high >= center)
    last_push = layout.shift(layout.last_index_where(push != 0), 1, fill=-1)
    age = np.arange(layout.size) - last_push
    recent = (last_push >= 0) & (age <= params.refresh_lookback)
    out["pldot_refresh"] = np.where(touches & recent, take(push, last_push, 0), 0).astype(np.int8)

    prev_close = layout.shift(close, 1)
    with np.errstate(invalid="ignore"):
        from_above = (prev_close > layout.shift(upper, 1)) & (close <= upper)
        from_below = (prev_close < layout.shift(lower, 1)) & (close >= lower)
        further = np.sign(close - prev_close) == side
        widening = width > layout.shift(width, 1)
        inside = (close >= lower) & (close <= upper)
        lower_half = cols["position"] < 0.5
    out["exhaust"] = (from_below.astype(np.int8) - from_above.astype(np.int8)).astype(np.int8)

    waving = np.where(further & widening & (side != 0), side, 0).astype(np.int8)
    out["c_wave"] = layout.persistent(waving, params.c_wave_bars)

    alternates = (side != 0) & (side == -layout.shift(side, 1, fill=0)) & inside
    alternates &= layout.shift(inside, 1, fill=False)
    oscillating = layout.all_recent(alternates, params.oscillation_bars - 1)
    out["congestion_oscillation"] = np.where(oscillating, np.where(lower_half, 1, -1), 0).astype(
        np.int8
    )

    if with_termination:
        approach, touch = termination_arrays(layout, cols, params, np.arange(layout.size))
        out["termination_approach"] = approach
        out["termination_touch"] = touch
    return out


def termination_arrays(
    layout: SymbolLayout,
    cols: dict[str, np.ndarray],
    params: DrummondParameters,
    rows: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(approach, touch) int8 directions at `rows`, against the zones of the bar before."""
    high, low, close = cols["high"][rows], cols["low"][rows], cols["close"][rows]
    has_prev = layout.pos[rows] >= 1
    prev = np.where(has_prev, rows - 1, rows)
    tol = params.zone_tolerance * cols["close"][prev]
    best_touch = np.full((2, len(rows)), np.inf)
    best_near = np.full((2, len(rows)), np.inf)
    for kind, name in enumerate(("support_line", "resistance_line")):
        pooled = recent_lines(layout, cols[name], prev, params.zone_lookback)
        in_zone = zone_weights_of_lines(pooled, tol) >= params.min_zone_weight
        distance = np.abs(pooled - close[:, None])
        with np.errstate(invalid="ignore"):
            touched = in_zone & (pooled >= (low - tol)[:, None]) & (pooled <= (high + tol)[:, None])
            near = in_zone & (distance <= (params.termination_approach * close)[:, None])
        best_touch[kind] = np.where(touched, distance, np.inf).min(axis=1)
        best_near[kind] = np.where(near, distance, np.inf).min(axis=1)
    touch = _nearer_kind(best_touch)
    approach = np.where(touch == 0, _nearer_kind(best_near), 0).astype(np.int8)
    touch[~has_prev] = 0
    approach[~has_prev] = 0
    return approach, touch


def _nearer_kind(best: np.ndarray) -> np.ndarray:
    """+1 where a support zone is the nearer one, -1 where a resistance zone is."""
    support, resistance = best
    return np.where(support < resistance, 1, np.where(resistance < support, -1, 0)).astype(np.int8)
