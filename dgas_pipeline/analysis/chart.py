"""A PNG of one signal in context: candles, PLdot, envelope, zones and the trade's levels.

Drawn on a bare matplotlib `Figure` with the Agg canvas (no pyplot, no global state), so it is
safe in a Dagster op, a thread or a headless server. Bars are placed by index, not time, so
nights and weekends leave no gaps.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dgas_pipeline.analysis.indicators import compute_indicators
from dgas_pipeline.analysis.lines import drummond_zones
from dgas_pipeline.analysis.parameters import DrummondParameters

DEFAULT_PARAMETERS = DrummondParameters()
LABEL_TIMEZONE = "America/New_York"
"""The default zone of the chart's times; a cycle passes its exchange's own."""
UP_COLOUR, DOWN_COLOUR = "#2e7d32", "#c62828"


def signal_chart_png(
    bars_one_symbol: pd.DataFrame,
    indicators: pd.DataFrame | None,
    signal: Mapping[str, Any] | pd.Series,
    *,
    last_bars: int = 60,
    params: DrummondParameters = DEFAULT_PARAMETERS,
    dpi: int = 100,
    tz: str = LABEL_TIMEZONE,
) -> bytes:
    """PNG bytes of the last `last_bars` bars up to the signal, its times in `tz` (the
    exchange's zone: a London trader reads London times).

    `bars_one_symbol`: the trading-timeframe bars of the signal's symbol (symbol, ts, open,
    high, low, close). `indicators`: `compute_indicators` of those same rows, or None to
    compute it here. `signal`: a row of `generate_signals` output (symbol, signal_timestamp,
    signal_type, entry_price, stop_loss, target_price; confidence and pattern_context used
    when present). Bars after the signal are not drawn.
    """
    frame = compute_indicators(bars_one_symbol, params) if indicators is None else indicators
    if frame["symbol"].nunique() > 1:
        raise ValueError("bars_one_symbol: holds more than one symbol")
    frame = frame.reset_index(drop=True)
    stamp = pd.Timestamp(signal["signal_timestamp"])
    ends = frame["end"] if "end" in frame.columns else frame["ts"]
    frame = frame.loc[pd.DatetimeIndex(ends) <= stamp].tail(last_bars).reset_index(drop=True)
    if frame.empty:
        raise ValueError(f"bars_one_symbol: no bar closes by the signal time {stamp}")

    fig = Figure(figsize=(11, 6), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(frame))
    _candles(ax, x, frame)
    ax.plot(x, frame["pldot"], color="#1565c0", linewidth=1.4, label="PLdot")
    ax.fill_between(
        x, frame["env_lower"], frame["env_upper"], color="#90caf9", alpha=0.25, label="envelope"
    )
    _zones(ax, frame, params)
    _levels(ax, x, signal)

    ax.set_title(chart_title(str(frame["symbol"].iloc[0]), signal, tz))
    ticks = x[:: max(len(x) // 8, 1)]
    ax.set_xticks(ticks, tick_labels(frame["ts"].iloc[ticks], tz), rotation=30, fontsize=8)
    ax.set_xlim(-1, len(x) + 2)
    return finished_png(fig, ax, dpi)


def chart_title(symbol: str, signal: Mapping[str, Any] | pd.Series, tz: str) -> str:
    """`SPY LONG at 2026-07-01 10:30 EDT  confidence 0.72`: the signal's time in `tz`."""
    stamp = pd.Timestamp(signal["signal_timestamp"]).tz_convert(tz)
    title = f"{symbol} {signal.get('signal_type', '')} at {stamp:%Y-%m-%d %H:%M %Z}"
    confidence = signal.get("confidence")
    if confidence is not None:
        title += f"  confidence {float(confidence):.2f}"
    return title


def tick_labels(starts: pd.Series, tz: str) -> list[str]:
    """The x-axis labels: each bar's start in `tz`."""
    return [f"{t:%m-%d %H:%M}" for t in pd.DatetimeIndex(starts).tz_convert(tz)]


def finished_png(fig: Figure, ax: Any, dpi: int) -> bytes:
    """The house finish of every plot we ship (light grid, legend top left), as PNG bytes."""
    ax.grid(alpha=0.2)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _candles(ax: Any, x: np.ndarray, frame: pd.DataFrame) -> None:
    o, h, lo, c = (frame[name].to_numpy(np.float64) for name in ("open", "high", "low", "close"))
    colour = np.where(c >= o, UP_COLOUR, DOWN_COLOUR)
    ax.vlines(x, lo, h, colors=colour, linewidth=0.8)
    body = np.maximum(np.abs(c - o), (h - lo) * 0.01)
    ax.bar(x, body, bottom=np.minimum(o, c), width=0.6, color=colour, edgecolor=colour)


def _zones(ax: Any, frame: pd.DataFrame, params: DrummondParameters) -> None:
    if not {"support_line", "resistance_line"} <= set(frame.columns):
        return
    zones = drummond_zones(frame, params, rows=np.array([len(frame) - 1]))
    for zone in zones.itertuples():
        colour = UP_COLOUR if zone.kind == "support" else DOWN_COLOUR
        ax.axhspan(zone.lower, zone.upper, color=colour, alpha=0.12)


def _levels(ax: Any, x: np.ndarray, signal: Mapping[str, Any] | pd.Series) -> None:
    start = x[-1] - 0.5
    for name, colour, style in (
        ("entry_price", "#37474f", "-"),
        ("stop_loss", DOWN_COLOUR, "--"),
        ("target_price", UP_COLOUR, "--"),
    ):
        value = signal.get(name)
        if value is None or not np.isfinite(float(value)):
            continue
        ax.hlines(float(value), start, x[-1] + 2, colors=colour, linestyles=style, linewidth=1.2)
        label = name.removesuffix("_price").replace("_", " ")
        ax.annotate(
            f"{label} {float(value):.2f}",
            (x[-1] + 2, float(value)),
            fontsize=8,
            color=colour,
            va="center",
            ha="right",
            xytext=(0, 6),
            textcoords="offset points",
        )
