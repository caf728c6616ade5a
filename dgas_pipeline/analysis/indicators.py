"""All single-timeframe Drummond indicators of a bar frame in one pass.

This is the entry point the pipeline uses per timeframe; the modules it draws on (pldot,
envelopes, lines, states, patterns) also stand alone for tests and notebooks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dgas_pipeline.analysis._layout import SymbolLayout, layout_of
from dgas_pipeline.analysis.envelopes import envelope_arrays
from dgas_pipeline.analysis.lines import line_arrays
from dgas_pipeline.analysis.parameters import DrummondParameters
from dgas_pipeline.analysis.patterns import PATTERN_COLUMNS, pattern_arrays, termination_arrays
from dgas_pipeline.analysis.pldot import pldot_arrays
from dgas_pipeline.analysis.states import state_arrays, state_categorical

DEFAULT_PARAMETERS = DrummondParameters()

INDICATOR_COLUMNS = (
    "pldot",
    "pldot_slope",
    "pldot_trend",
    "env_upper",
    "env_lower",
    "env_width",
    "position",
    "support_line",
    "resistance_line",
    "side",
    "state",
    "direction",
    "bars_in_state",
    "state_confidence",
    "trend_strength",
    *PATTERN_COLUMNS.values(),
)


def compute_indicators(
    bars: pd.DataFrame,
    params: DrummondParameters = DEFAULT_PARAMETERS,
    *,
    rows: np.ndarray | None = None,
) -> pd.DataFrame:
    """`bars` (one timeframe, sorted by symbol, ts) with every indicator column appended.

    Added columns, in order: INDICATOR_COLUMNS. Floats are NaN until a symbol has enough bars
    (PLdot: 2 bars, slope: 3, "pldot_range" envelope: 4, state: 4); int8 direction-like
    columns read 0 until then. No value depends on a bar after its own.

    `rows` (positions in `bars`): only those rows, each with the values it has in the whole
    frame. A cycle keeps one row per symbol of thousands of bars, and the termination
    patterns (a zone clustering per bar) are most of the cost: they are computed for the
    kept rows only.
    """
    layout = layout_of(bars)
    high = bars["high"].to_numpy(np.float64)
    low = bars["low"].to_numpy(np.float64)
    close = bars["close"].to_numpy(np.float64)
    cols = indicator_arrays(layout, high, low, close, params, with_termination=rows is None)
    if rows is None:
        out = bars.copy()
    else:
        rows = np.asarray(rows, dtype=np.int64)
        approach, touch = termination_arrays(layout, cols, params, rows)
        cols = {name: values[rows] for name, values in cols.items()}
        cols["termination_approach"], cols["termination_touch"] = approach, touch
        out = bars.iloc[rows].copy()
    for name in INDICATOR_COLUMNS:
        values = cols[name]
        out[name] = state_categorical(values) if name == "state" else values
    return out


def indicator_arrays(
    layout: SymbolLayout,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    params: DrummondParameters,
    *,
    with_termination: bool = True,
) -> dict[str, np.ndarray]:
    """Indicator columns as numpy arrays (`state` as int8 codes), for the signal pipeline."""
    cols = {"high": high, "low": low, "close": close}
    cols.update(pldot_arrays(layout, cols["high"], cols["low"], cols["close"], params))
    cols.update(
        envelope_arrays(layout, cols["high"], cols["low"], cols["close"], cols["pldot"], params)
    )
    cols.update(line_arrays(layout, cols["high"], cols["low"]))
    cols.update(state_arrays(layout, cols["close"], cols["pldot"], cols["pldot_trend"], params))
    cols.update(pattern_arrays(layout, cols, params, with_termination=with_termination))
    return cols
