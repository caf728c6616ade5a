"""PLdot: Drummond's point of balance, its slope and the trend read from that slope.

The PLdot of a bar is the mean typical price (H+L+C)/3 of that bar and the two before it. It
belongs to the bar it is computed on: the newest closed bar has one (the original system
dropped it, one bar behind every cycle). It is the *projection* for the next bar in
Drummond's reading; callers that draw it one bar ahead shift it themselves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dgas_pipeline.analysis._layout import SymbolLayout, layout_of
from dgas_pipeline.analysis.parameters import DrummondParameters

DEFAULT_PARAMETERS = DrummondParameters()


def pldot(bars: pd.DataFrame, params: DrummondParameters = DEFAULT_PARAMETERS) -> pd.DataFrame:
    """PLdot columns for every bar, aligned to `bars.index`.

    Columns: `pldot` (NaN on each symbol's first pldot_window-1 bars), `pldot_slope` (first
    difference, NaN one bar longer) and `pldot_trend` (int8: +1 up, -1 down, 0 flat or not yet
    known; flat when |slope| <= slope_dead_band x PLdot).
    """
    layout = layout_of(bars)
    cols = pldot_arrays(
        layout,
        bars["high"].to_numpy(np.float64),
        bars["low"].to_numpy(np.float64),
        bars["close"].to_numpy(np.float64),
        params,
    )
    return pd.DataFrame(cols, index=bars.index)


def pldot_arrays(
    layout: SymbolLayout,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    params: DrummondParameters,
) -> dict[str, np.ndarray]:
    typical = (high + low + close) / 3.0
    value = layout.rolling_mean(typical, params.pldot_window)
    slope = value - layout.shift(value, 1)
    band = params.slope_dead_band * np.abs(value)
    with np.errstate(invalid="ignore"):
        trend = np.where(slope > band, 1, np.where(slope < -band, -1, 0)).astype(np.int8)
    return {"pldot": value, "pldot_slope": slope, "pldot_trend": trend}
