"""Drummond's five market states, read from where the last closes sit against the PLdot.

A *run* is `trend_closes` (3) closes on one side of the PLdot. With `run` the run's side on
each bar (0 when the last closes are mixed) and `prior` the side of the latest run before the
bar, the states are:

| this bar      | previous bar | prior run      | state               | direction   |
|---------------|--------------|----------------|---------------------|-------------|
| run d         | run d        |                | TREND               | d           |
| run d         | no run       | none           | TREND               | d           |
| run d         | no run       | d              | CONGESTION_EXIT     | d           |
| run d         | no run       | -d             | REVERSAL            | d           |
| no run        | run          |                | CONGESTION_ENTRANCE | prior       |
| no run        | no run       |                | CONGESTION_ACTION   | NEUTRAL     |

The first close back across keeps the direction of the trend it interrupts (it may only be
resting); once closes alternate, the market is in balance and has no direction. Because
`prior` is a forward fill and everything else looks back a fixed number of bars, the whole
table is vectorised across symbols and a bar's state never depends on a later bar.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dgas_pipeline.analysis._layout import SymbolLayout, layout_of, take
from dgas_pipeline.analysis.parameters import DrummondParameters
from dgas_pipeline.analysis.pldot import pldot_arrays

DEFAULT_PARAMETERS = DrummondParameters()

TREND = "TREND"
CONGESTION_ENTRANCE = "CONGESTION_ENTRANCE"
CONGESTION_ACTION = "CONGESTION_ACTION"
CONGESTION_EXIT = "CONGESTION_EXIT"
REVERSAL = "REVERSAL"
STATES = (TREND, CONGESTION_ENTRANCE, CONGESTION_ACTION, CONGESTION_EXIT, REVERSAL)
STATE_DTYPE = pd.CategoricalDtype(list(STATES))
DIRECTION_NAMES = {1: "UP", -1: "DOWN", 0: "NEUTRAL"}

_TREND, _ENTRANCE, _ACTION, _EXIT, _REVERSAL = range(5)


def market_states(
    bars: pd.DataFrame,
    params: DrummondParameters = DEFAULT_PARAMETERS,
    *,
    center: pd.Series | None = None,
) -> pd.DataFrame:
    """State columns for every bar, aligned to `bars.index`.

    `center` is the PLdot (computed from `bars` when not given). Columns: `side` (int8: close
    above +1 / below -1 / on or unknown 0), `state` (categorical of STATES, NaN until the
    symbol has pldot_window + trend_closes - 2 bars), `direction` (int8 +1 UP, -1 DOWN, 0
    NEUTRAL), `bars_in_state` (0 while unknown), `state_confidence` and `trend_strength` in
    [0, 1] (NaN while unknown).
    """
    layout = layout_of(bars)
    high = bars["high"].to_numpy(np.float64)
    low = bars["low"].to_numpy(np.float64)
    close = bars["close"].to_numpy(np.float64)
    pl = pldot_arrays(layout, high, low, close, params)
    if center is not None:
        pl["pldot"] = center.to_numpy(np.float64)
    cols = state_arrays(layout, close, pl["pldot"], pl["pldot_trend"], params)
    cols["state"] = state_categorical(cols["state"])
    return pd.DataFrame(cols, index=bars.index)


def state_categorical(codes: np.ndarray) -> pd.Categorical:
    return pd.Categorical.from_codes(codes.astype(np.int8), dtype=STATE_DTYPE)


def state_arrays(
    layout: SymbolLayout,
    close: np.ndarray,
    center: np.ndarray,
    pldot_trend: np.ndarray,
    params: DrummondParameters,
) -> dict[str, np.ndarray]:
    """As `market_states`, with `state` as int8 codes into STATES (-1 unknown)."""
    tol = params.side_tolerance * np.abs(center)
    diff = close - center
    with np.errstate(invalid="ignore"):
        side = np.where(diff > tol, 1, np.where(diff < -tol, -1, 0)).astype(np.int8)

    known = layout.pos >= params.pldot_window + params.trend_closes - 2
    run = layout.persistent(side, params.trend_closes)
    run[~known] = 0
    prev_run = layout.shift(run, 1, fill=0)
    last_run_row = layout.last_index_where(run != 0)
    prior_row = layout.shift(last_run_row, 1, fill=-1)
    prior = take(run, prior_row, 0).astype(np.int8)

    state = np.full(layout.size, _ACTION, dtype=np.int8)
    in_run = run != 0
    new_run = in_run & (prev_run != run)
    state[in_run] = _TREND
    state[new_run & (prior == run)] = _EXIT
    state[new_run & (prior == -run)] = _REVERSAL
    state[~in_run & (prev_run != 0)] = _ENTRANCE
    state[~known] = -1
    direction = np.where(in_run, run, 0).astype(np.int8)
    entrance = state == _ENTRANCE
    direction[entrance] = prev_run[entrance]
    direction[~known] = 0

    bars_in_state = layout.run_length(state)
    bars_in_state[~known] = 0

    base = np.array(
        [
            params.confidence_trend,
            params.confidence_congestion_entrance,
            params.confidence_congestion_action,
            params.confidence_congestion_exit,
            params.confidence_reversal,
        ]
    )
    directional = in_run  # TREND, CONGESTION_EXIT, REVERSAL
    slope_agrees = (pldot_trend == direction) & (direction != 0)
    confidence = (
        base[np.maximum(state, 0)]
        + np.minimum(
            params.confidence_per_bar * (bars_in_state - 1), params.confidence_duration_cap
        )
        + params.confidence_slope_agreement * (directional & slope_agrees)
        + params.confidence_flat_congestion * (~directional & (pldot_trend == 0))
    )
    confidence = np.clip(confidence, 0.0, 1.0)
    confidence[~known] = np.nan

    strength = (
        np.minimum(params.strength_per_bar * bars_in_state, params.strength_duration_cap)
        + params.strength_confidence_weight * confidence
        + params.strength_slope_agreement * ((state == _TREND) & slope_agrees)
    )
    strength = np.where(direction != 0, np.clip(strength, 0.0, 1.0), 0.0)
    strength[~known] = np.nan

    return {
        "side": side,
        "state": state,
        "direction": direction,
        "bars_in_state": bars_in_state.astype(np.int32),
        "state_confidence": confidence,
        "trend_strength": strength,
    }


def states_compatible(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Different states that still agree: both trending (TREND, CONGESTION_EXIT, REVERSAL) or
    both in congestion (CONGESTION_ENTRANCE, CONGESTION_ACTION, CONGESTION_EXIT). Unknown
    states (-1) agree with nothing."""
    a, b = a.astype(np.int64) + 1, b.astype(np.int64) + 1
    return (_TRENDING[a] & _TRENDING[b]) | (_CONGESTING[a] & _CONGESTING[b])


def _state_table(*members: int) -> np.ndarray:
    """Membership by state code + 1 (slot 0: unknown), a lookup instead of np.isin: the live
    call asks this for a handful of bars, where isin's set-up dominates."""
    table = np.zeros(len(STATES) + 1, dtype=bool)
    table[np.asarray(members) + 1] = True
    return table


_TRENDING = _state_table(_TREND, _EXIT, _REVERSAL)
_CONGESTING = _state_table(_ENTRANCE, _ACTION, _EXIT)
