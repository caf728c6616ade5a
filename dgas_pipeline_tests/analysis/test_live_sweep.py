"""A year of live cycles, each default symbol alone: the live call never raises and returns,
at every planned cycle bar end of 2026, the row a backfill of that session computes.

The cycle's own inputs: the default config, the synthetic provider's bars through the data
layer, and for each cycle the history it reads (`history_sessions` sessions up to its bar's
end). The live side is one real `generate_signals` call per cycle, alone, as the bug it
guards against (a candidate without any confluence zone) only showed with one symbol in the
call. The backfill side is vectorised: each session's history becomes a pseudo-symbol of one
`generate_signals_range` call (symbols are decided independently, a tested property), so
its rows are those of a backfill of each session.
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


@pytest.fixture(scope="module")
def market() -> MarketHoursManager:
    return MarketHoursManager(CONFIG.calendar.exchange)


@pytest.fixture(scope="module")
def year_cycles(market: MarketHoursManager) -> list[SessionCycles]:
    launches = [
        launch
        for launch in plan_launches(market, *YEAR, CONFIG.plan_settings)
        if launch.kind == "cycle"
    ]
    by_day: dict[date, list] = {}
    for launch in launches:
        by_day.setdefault(launch.session, []).append(launch)
    sessions = []
    for day, cycles in sorted(by_day.items()):
        start = history_start(market, cycles[0].bar_start, CONFIG.history_sessions)
        ends = np.sort([pd.Timestamp(c.bar_end).value for c in cycles])
        sessions.append(SessionCycles(day, pd.Timestamp(start).value, ends))
    assert (len(sessions), sum(len(s.ends) for s in sessions)) == (251, 3_251)
    return sessions


def thresholds() -> analysis.SignalThresholds:
    return analysis.SignalThresholds(
        min_confidence=CONFIG.min_confidence,
        min_signal_strength=CONFIG.min_signal_strength,
        min_alignment=CONFIG.min_alignment,
        enabled_patterns=CONFIG.enabled_patterns,
    )


@pytest.mark.parametrize("symbol", CONFIG.symbols)
def test_every_live_cycle_of_2026_returns_the_backfill_row_of_its_bar(
    symbol: str, market: MarketHoursManager, year_cycles: list[SessionCycles]
) -> None:
    provider = SyntheticProvider(market, seed=CONFIG.provider.synthetic_seed)
    first, last = year_cycles[0].history_start, int(year_cycles[-1].ends[-1])
    fetched = fetch_bars(
        [provider],
        [symbol],
        pd.Timestamp(first, tz="UTC"),
        pd.Timestamp(last, tz="UTC"),
        CONFIG.interval_delta,
        market,
    )
    assert not fetched.errors
    bars = fetched.bars
    ts = pd.DatetimeIndex(bars["ts"]).asi8
    chosen = thresholds()

    live = []
    for session in year_cycles:
        lo = np.searchsorted(ts, session.history_start)
        for end in session.ends:
            at = pd.Timestamp(end, tz="UTC")
            history = bars.iloc[lo : np.searchsorted(ts, end)]  # what this cycle reads
            try:
                found = analysis.generate_signals(history, at, CONFIG.enabled_timeframes, chosen)
            except Exception as error:  # name the instant, then fail
                pytest.fail(f"{symbol} live at {at.isoformat()}: {error!r}")
            if len(found):
                live.append(found)

    expected = backfill_rows_at_each_cycle(bars, ts, year_cycles, chosen)
    assert len(live) > 100  # the sweep is not vacuous: signals on many cycles
    pd.testing.assert_frame_equal(
        pd.concat(live, ignore_index=True), expected.assign(symbol=symbol).astype({"symbol": "str"})
    )


def backfill_rows_at_each_cycle(
    bars: pd.DataFrame,
    ts: np.ndarray,
    year_cycles: list[SessionCycles],
    chosen: analysis.SignalThresholds,
) -> pd.DataFrame:
    """For each cycle in order, the backfill row of the newest trading bar closed by its end
    (none when that bar has no signal), from the history of the cycle's session."""
    parts = []
    for session in year_cycles:
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
    counts = np.zeros(len(ranged), dtype=np.int64)
    for session in year_cycles:
        mine = np.flatnonzero(names == session.day.isoformat())
        ends = ends_of[session.day.isoformat()]
        until = ends[np.searchsorted(ends, stamps[mine], side="right")]
        # cycles of this session whose newest closed trading bar is this row's
        counts[mine] = np.searchsorted(session.ends, until) - np.searchsorted(
            session.ends, stamps[mine]
        )
    return ranged.iloc[np.repeat(np.arange(len(ranged)), counts)].reset_index(drop=True)
