"""Drummond Geometry analysis: pure, vectorised pandas/numpy, no Dagster, store or provider.

Bars in, frames out. The cycle uses `generate_signals` (live, as of a time) or
`generate_signals_range` (backfills), then `aggregate_signals`; EOD uses `evaluate_outcomes`
and `calibration`; asset metadata uses `signal_chart_png`. The single-timeframe pieces
(`compute_indicators` and the modules behind it) and the timeframe tools (`resample_bars`,
`closed_bars`, `timeframe_alignment`, `confluence_zones`) stand alone.

Input bars: one row per (symbol, bar), sorted by (symbol, ts): symbol (str or categorical),
ts (bar start, tz-aware), open, high, low, close (float), volume, session_open and
session_close (tz-aware instants of the bar's session). `session` (the session date, as
`datetime.date` or a normalized Timestamp) is optional and only carried through; sessions are
told apart by session_open.

`signal_chart_png` is imported on first use (`lazy_exports`): matplotlib costs as much as the
rest of the package, and only a run that draws a chart needs it.
"""

from dgas_pipeline.analysis.envelopes import envelopes
from dgas_pipeline.analysis.indicators import INDICATOR_COLUMNS, compute_indicators
from dgas_pipeline.analysis.lines import drummond_lines, drummond_zones
from dgas_pipeline.analysis.outcomes import calibration, evaluate_outcomes
from dgas_pipeline.analysis.parameters import CoordinationParameters, DrummondParameters
from dgas_pipeline.analysis.patterns import PATTERNS, pattern_events
from dgas_pipeline.analysis.pldot import pldot
from dgas_pipeline.analysis.signals import (
    SIGNAL_COLUMNS,
    SignalThresholds,
    aggregate_signals,
    generate_signals,
    generate_signals_range,
)
from dgas_pipeline.analysis.states import STATES, market_states
from dgas_pipeline.analysis.timeframes import (
    asof_positions,
    closed_bars,
    confluence_zones,
    resample_bars,
    timeframe_alignment,
)
from dgas_pipeline.lazy_exports import lazy_exports

__all__ = [
    "INDICATOR_COLUMNS",
    "PATTERNS",
    "SIGNAL_COLUMNS",
    "STATES",
    "CoordinationParameters",
    "DrummondParameters",
    "SignalThresholds",
    "aggregate_signals",
    "asof_positions",
    "calibration",
    "closed_bars",
    "compute_indicators",
    "confluence_zones",
    "drummond_lines",
    "drummond_zones",
    "envelopes",
    "evaluate_outcomes",
    "generate_signals",
    "generate_signals_range",
    "market_states",
    "pattern_events",
    "pldot",
    "resample_bars",
    "signal_chart_png",
    "timeframe_alignment",
]
__getattr__ = lazy_exports(__name__, {"signal_chart_png": "chart"})
