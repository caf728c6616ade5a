"""Benchmark of one prediction cycle's analysis: indicators on 3 timeframes + signals.

    python bench/cycle.py --symbols 500 [--repeats 5] [--sessions 60] [--profile]

Builds N synthetic symbols over the last `--sessions` XNYS sessions of 30-min bars (real
session opens and closes, early closes included), then times `generate_signals` as of the
last close. Prints one JSON line: symbols, timeframes, bars_per_symbol, seconds_median,
seconds_all, peak_rss_mb (whole process), peak_rss_mb_before_analysis (imports + synthetic
data), signals. `--profile` prints the cProfile top functions to stderr.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import resource
import statistics
import sys
import time
import warnings

import exchange_calendars as xcals
import numpy as np
import pandas as pd

from dgas_pipeline.analysis.signals import DEFAULT_TIMEFRAMES, generate_signals

INTERVAL = pd.Timedelta("30min")
LAST_SESSION = "2025-12-31"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, required=True)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sessions", type=int, default=60)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)

    bars = synthetic_bars(args.symbols, args.sessions, args.seed)
    data_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    as_of = bars["session_close"].iloc[-1]
    timings = []
    signals = pd.DataFrame()
    for _ in range(args.repeats):
        started = time.perf_counter()
        signals = generate_signals(bars, as_of, DEFAULT_TIMEFRAMES)
        timings.append(time.perf_counter() - started)
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(generate_signals, bars, as_of, DEFAULT_TIMEFRAMES)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "symbols": args.symbols,
                "timeframes": list(DEFAULT_TIMEFRAMES),
                "bars_per_symbol": len(bars) // max(args.symbols, 1),
                "seconds_median": round(statistics.median(timings), 3),
                "seconds_all": [round(t, 3) for t in timings],
                "peak_rss_mb": round(peak_kb / 1024, 1),
                "peak_rss_mb_before_analysis": round(data_kb / 1024, 1),
                "signals": len(signals),
            }
        )
    )
    return 0


def synthetic_bars(n_symbols: int, n_sessions: int, seed: int, block: int = 250) -> pd.DataFrame:
    """Regime-switching random walks on the real XNYS grid, sorted by (symbol, ts).

    Generated `block` symbols at a time into preallocated columns, so the generator's
    temporaries do not dominate the peak memory the benchmark reports.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # exchange_calendars vs pandas 3.1
        calendar = xcals.get_calendar("XNYS", start="2024-01-01", end=LAST_SESSION)
    schedule = calendar.schedule.loc[:LAST_SESSION].iloc[-n_sessions:]
    opens = pd.DatetimeIndex(schedule["open"]).tz_convert("UTC").as_unit("ns").asi8
    closes = pd.DatetimeIndex(schedule["close"]).tz_convert("UTC").as_unit("ns").asi8
    per_session = -((opens - closes) // INTERVAL.value)
    session_of_bar = np.repeat(np.arange(n_sessions), per_session)
    k = np.arange(per_session.sum()) - np.repeat(np.cumsum(per_session) - per_session, per_session)
    start = opens[session_of_bar] + k * INTERVAL.value
    n = len(start)
    total = n_symbols * n

    columns = {name: np.empty(total) for name in ("open", "high", "low", "close", "volume")}
    rng = np.random.default_rng(seed)
    for lo in range(0, n_symbols, block):
        m = min(block, n_symbols - lo)
        ohlcv = _walk(rng, m, n)
        for name, values in ohlcv.items():
            columns[name][lo * n : (lo + m) * n] = values.ravel()

    def utc(ns: np.ndarray) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(np.tile(ns, n_symbols).view("M8[ns]"), tz="UTC")

    names = np.array([f"S{i:05d}" for i in range(n_symbols)], dtype=object)
    return pd.DataFrame(
        {
            "symbol": pd.array(np.repeat(names, n), dtype="str"),
            "ts": utc(start),
            **{name: columns[name] for name in ("open", "high", "low", "close", "volume")},
            "session": np.tile(schedule.index.date[session_of_bar], n_symbols),
            "session_open": utc(opens[session_of_bar]),
            "session_close": utc(closes[session_of_bar]),
        },
        copy=False,
    )


def _walk(rng: np.random.Generator, m: int, n: int) -> dict[str, np.ndarray]:
    shape = (m, n)
    switch = rng.random(shape) > 0.97
    switch[:, 0] = True
    regime_start = np.maximum.accumulate(np.where(switch, np.arange(n), 0), axis=1)
    regime = np.take_along_axis(rng.integers(-1, 2, size=shape), regime_start, axis=1)
    returns = 0.001 * regime + 0.003 * rng.standard_normal(shape)
    first = rng.uniform(5, 500, size=(m, 1))
    close = first * np.exp(np.cumsum(returns, axis=1))
    open_ = np.concatenate([first, close[:, :-1]], axis=1)
    return {
        "open": open_,
        "high": np.maximum(open_, close) * np.exp(0.0015 * np.abs(rng.standard_normal(shape))),
        "low": np.minimum(open_, close) * np.exp(-0.0015 * np.abs(rng.standard_normal(shape))),
        "close": close,
        "volume": rng.integers(100, 10_000, size=shape).astype(np.float64),
    }


if __name__ == "__main__":
    raise SystemExit(main())
