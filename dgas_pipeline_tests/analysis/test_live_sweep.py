"""A year of live cycles, each default symbol alone: the live call never raises and returns,
at every planned cycle bar end of 2026, the rows a backfill of that session computes.

The cycle's own inputs: the default config, the synthetic provider's bars through the data
layer, and for each cycle the history it reads (`history_sessions` sessions of every default
symbol up to its bar's end). The live side is one real `generate_signals` call per cycle with
`chunk_rows=1`: each symbol is then decided in a chunk of its own, on its own arrays, exactly
as in a call with that symbol alone (the bug class this guards against, a candidate without
any confluence zone, only shows there), while the frame is read once per cycle. The backfill
side is vectorised: each (symbol, session) history becomes a pseudo-symbol of one
`generate_signals_range` call per symbol (symbols are decided independently, a tested
property), so its rows are those of a backfill of each session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pytest

from dgas_pipeline import analysis
from dgas_pipeline.config import SchedulerConfig
from dgas_pipeline.data import SyntheticProvider, fetch_bars
from dgas_pipeline.market import MarketHoursManager, plan_launches
from dgas_pipeline.market.bars import history_start

CONFIG = SchedulerConfig()
YEAR = (date(2026, 1, 1), date(2026, 12, 31))
NEVER = np.iinfo(np.int64).max


@dataclass(frozen=True)
class SessionCycles:
    """One session's cycles: the history they read starts at `history_start`; `ends` are
    their bar ends (ns), in order."""

    day: date
    history_start: int
    ends: np.ndarray


@dataclass(frozen=True)
class YearBars:
    bars: pd.DataFrame  # every default symbol, sorted by (symbol, ts)
    ts: np.ndarray  # bars.ts as int64 ns
    sessions: list[SessionCycles]


@pytest.fixture(scope="module")
def year() -> YearBars:
    market = MarketHoursManager(CONFIG.calendar.exchange)
    by_day: dict[date, list] = {}
    for launch in plan_launches(market, *YEAR, CONFIG.plan_settings):
        if launch.kind == "cycle":
            by_day.setdefault(launch.session, []).append(launch)
    sessions = []
    for day, cycles in sorted(by_day.items()):
        start = history_start(market, cycles[0].bar_start, CONFIG.history_sessions)
        ends = np.sort([pd.Timestamp(c.bar_end).value for c in cycles])
        sessions.append(SessionCycles(day, pd.Timestamp(start).value, ends))
    assert (len(sessions), sum(len(s.ends) for s in sessions)) == (251, 3_251)
    fetched = fetch_bars(
        [SyntheticProvider(market, seed=CONFIG.provider.synthetic_seed)],
        CONFIG.symbols,
        pd.Timestamp(sessions[0].history_start, tz="UTC"),
        pd.Timestamp(int(sessions[-1].ends[-1]), tz="UTC"),
        CONFIG.interval_delta,
        market,
    )
    assert not fetched.errors
    return YearBars(fetched.bars, pd.DatetimeIndex(fetched.bars["ts"]).asi8, sessions)


def thresholds() -> analysis.SignalThresholds:
    return analysis.SignalThresholds(
        min_confidence=CONFIG.min_confidence,
        min_signal_strength=CONFIG.min_signal_strength,
        min_alignment=CONFIG.min_alignment,
        enabled_patterns=CONFIG.enabled_patterns,
    )


@pytest.mark.parametrize("quarter", [1, 2, 3, 4])
def test_every_live_cycle_of_2026_returns_the_backfill_rows_of_its_bar(
    year: YearBars, quarter: int
) -> None:
    sessions = [s for s in year.sessions if (s.day.month - 1) // 3 + 1 == quarter]
    chosen = thresholds()

    live = []
    for session in sessions:
        read = year.ts >= session.history_start
        for end in session.ends:
            at = pd.Timestamp(end, tz="UTC")
            history = year.bars[read & (year.ts < end)]  # what this cycle reads
            try:
                found = analysis.generate_signals(
                    history, at, CONFIG.enabled_timeframes, chosen, chunk_rows=1
                )
            except Exception as error:  # name the instant, then fail
                pytest.fail(f"live at {at.isoformat()}: {error!r}")
            live.append(found)

    expected = pd.concat(
        [
            backfill_rows_at_each_cycle(part, sessions, chosen).assign(symbol=symbol)
            for symbol, part in year.bars.groupby("symbol", sort=True)
        ],
        ignore_index=True,
    )
    expected = expected.sort_values(["cycle", "symbol"], kind="stable", ignore_index=True)
    found = pd.concat(live, ignore_index=True)
    assert found["symbol"].nunique() == len(CONFIG.symbols)  # signals for every symbol
    pd.testing.assert_frame_equal(found, expected.drop(columns="cycle").astype({"symbol": "str"}))


def backfill_rows_at_each_cycle(
    bars: pd.DataFrame, sessions: list[SessionCycles], chosen: analysis.SignalThresholds
) -> pd.DataFrame:
    """For each cycle of `sessions` (its ordinal in column `cycle`), the backfill row of one
    symbol's newest trading bar closed by the cycle's end (none when that bar has no
    signal), computed from the history of the cycle's session."""
    ts = pd.DatetimeIndex(bars["ts"]).asi8
    parts = []
    for session in sessions:
        lo, hi = np.searchsorted(ts, [session.history_start, session.ends[-1]])
        parts.append(bars.iloc[lo:hi].assign(symbol=session.day.isoformat()))
    pseudo = pd.concat(parts, ignore_index=True)
    ranged = analysis.generate_signals_range(
        pseudo,
        pseudo["ts"].iloc[0],
        pseudo["session_close"].iloc[-1],
        CONFIG.enabled_timeframes,
        chosen,
    )
    trading = analysis.resample_bars(pseudo, CONFIG.enabled_timeframes[1])
    ends_of = {
        str(name): np.append(np.sort(pd.DatetimeIndex(ends).asi8), NEVER)
        for name, ends in trading.groupby(trading["symbol"].astype(str))["end"]
    }
    stamps = pd.DatetimeIndex(ranged["signal_timestamp"]).asi8
    names = ranged["symbol"].to_numpy()
    first = np.zeros(len(ranged), dtype=np.int64)
    counts = np.zeros(len(ranged), dtype=np.int64)
    offset = 0
    for session in sessions:
        mine = np.flatnonzero(names == session.day.isoformat())
        ends = ends_of[session.day.isoformat()]
        until = ends[np.searchsorted(ends, stamps[mine], side="right")]
        # the cycles of this session whose newest closed trading bar is this row's
        first[mine] = offset + np.searchsorted(session.ends, stamps[mine])
        counts[mine] = offset + np.searchsorted(session.ends, until) - first[mine]
        offset += len(session.ends)
    rows = ranged.iloc[np.repeat(np.arange(len(ranged)), counts)].reset_index(drop=True)
    within = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    return rows.assign(cycle=np.repeat(first, counts) + within)
