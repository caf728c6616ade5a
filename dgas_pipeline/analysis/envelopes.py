"""Envelope bands around the PLdot and where the close sits inside them.

Drummond's envelope ("pldot_range") is 1.5 x the 3-bar standard deviation of the PLdot: it
widens when the point of balance moves and narrows in balance. The high-low, ATR and
percentage methods are kept for comparison with other tools.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dgas_pipeline.analysis._layout import SymbolLayout, layout_of
from dgas_pipeline.analysis.parameters import DrummondParameters
from dgas_pipeline.analysis.pldot import pldot_arrays

DEFAULT_PARAMETERS = DrummondParameters()


def envelopes(
    bars: pd.DataFrame,
    params: DrummondParameters = DEFAULT_PARAMETERS,
    *,
    center: pd.Series | None = None,
) -> pd.DataFrame:
    """Envelope columns for every bar, aligned to `bars.index`.

    `center` is the PLdot; it is computed from `bars` when not given. Columns: `env_upper`,
    `env_lower`, `env_width` (upper - lower) and `position` = clip((close - lower) / width, 0,
    1), 0.5 when a zero-width envelope sits exactly on the close. With "pldot_range" the first
    pldot_window + envelope_period - 2 bars of each symbol are NaN.
    """
    layout = layout_of(bars)
    high = bars["high"].to_numpy(np.float64)
    low = bars["low"].to_numpy(np.float64)
    close = bars["close"].to_numpy(np.float64)
    if center is None:
        mid = pldot_arrays(layout, high, low, close, params)["pldot"]
    else:
        mid = center.to_numpy(np.float64)
    return pd.DataFrame(envelope_arrays(layout, high, low, close, mid, params), index=bars.index)


def envelope_arrays(
    layout: SymbolLayout,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    center: np.ndarray,
    params: DrummondParameters,
) -> dict[str, np.ndarray]:
    method = params.envelope_method
    period = params.envelope_period
    if method == "pldot_range":
        half = params.envelope_multiplier * layout.rolling_std(center, period)
    elif method == "hl_range":
        half = params.envelope_multiplier * layout.rolling_mean(high - low, period)
    elif method == "atr":
        prev_close = layout.shift(close, 1)
        true_range = np.fmax(
            high - low, np.fmax(np.abs(high - prev_close), np.abs(low - prev_close))
        )
        half = params.envelope_multiplier * layout.rolling_mean(true_range, period)
    else:  # percentage
        half = params.envelope_percent * np.abs(center)
    upper = center + half
    lower = center - half
    width = upper - lower
    with np.errstate(invalid="ignore", divide="ignore"):
        position = np.clip((close - lower) / width, 0.0, 1.0)
    position[(width == 0) & (close == center)] = 0.5
    return {"env_upper": upper, "env_lower": lower, "env_width": width, "position": position}
