"""One symbol's analysis failing never fails the other symbols' cycle; the symbols cut by
`max_symbols_per_cycle` are named in the run's errors.

The failure is injected by a test-only hook around the real analysis call the step makes: it
raises when the symbol is in the frame it is given and otherwise runs the real analysis. So
the step's all-at-once call fails, and its per-symbol fallback meets the symbol alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
import time_machine

from dgas_pipeline import analysis
from dgas_pipeline.store import tables
from dgas_pipeline.store.engine import write_transaction
from dgas_pipeline.watchlists import store as watchlist_store
from dgas_pipeline_tests.defs.conftest import (
    SESSION,
    CycleEnv,
    busiest_bar,
    channels,
    live_at,
    session_bars,
)
from dgas_pipeline_tests.notify.servers import Webhook

BROKEN = "QQQ"
INJECTED = f"injected: {BROKEN} cannot be analysed"


def failing_for(
    symbols: Callable[[set[str]], bool], real: Callable[..., pd.DataFrame]
) -> Callable[..., pd.DataFrame]:
    """`real`, except that it raises when `symbols` (the frame's symbols) says so."""

    def analysis_call(bars: pd.DataFrame, *args: Any, **kwargs: Any) -> pd.DataFrame:
        if symbols(set(bars["symbol"].astype(str))):
            raise FloatingPointError(INJECTED)
        return real(bars, *args, **kwargs)

    return analysis_call


def break_symbol(monkeypatch: pytest.MonkeyPatch, *names: str, when=None) -> None:
    """Make the analysis functions `names` fail on any frame holding BROKEN (or `when`)."""
    test = when or (lambda present: BROKEN in present)
    for name in names:
        monkeypatch.setattr(analysis, name, failing_for(test, getattr(analysis, name)))


def signal_keys(rows: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return sorted((r["symbol"], r["partition_key"], r["signal_type"]) for r in rows)


def expected_keys(signals: pd.DataFrame, keys: list[str], without: str = "") -> list[tuple]:
    mine = signals[signals["partition_key"].isin(keys) & (signals["symbol"] != without)]
    return sorted(zip(mine["symbol"], mine["partition_key"], mine["signal_type"], strict=True))


# -- a symbol whose signals cannot be computed ------------------------------------------------


def test_a_symbol_whose_signals_fail_is_an_error_line_and_the_others_are_stored_and_sent(
    cycle_env: CycleEnv,
    session_signals: pd.DataFrame,
    webhook: Webhook,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bar = busiest_bar(session_signals, without=(BROKEN,))
    expected = expected_keys(session_signals, [bar.key], without=BROKEN)
    cycle_env.configure(notifications=channels(webhook))
    break_symbol(monkeypatch, "generate_signals", "generate_signals_range")

    with time_machine.travel(live_at(bar), tick=True):
        result = cycle_env.run_cycle(bar.key)

    assert result.success
    (row,) = cycle_env.runs()
    assert row["status"] == "PARTIAL"
    assert row["errors"] == [f"{BROKEN}: signals: FloatingPointError: {INJECTED}"]
    assert (row["symbols_requested"], row["symbols_processed"]) == (8, 7)
    stored = cycle_env.rows(tables.generated_signals)
    assert signal_keys(stored) == expected and len(expected) > 0
    assert row["signals_generated"] == len(expected)
    assert all(s["notification_sent"] for s in stored)
    # One POST listing every signal of the other symbols (a channel's batch), none of BROKEN's.
    assert len(webhook.requests) == 1
    sent = sorted((p["symbol"], p["signal_type"]) for p in webhook.payloads())
    assert sent == [(symbol, kind) for symbol, _, kind in expected]
    assert cycle_env.scheduler_state()["status"] == "IDLE"


def test_a_range_run_keeps_the_other_symbols_of_every_bar(
    cycle_env: CycleEnv, session_signals: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    bars = session_bars(SESSION)
    keys = [b.key for b in bars]
    break_symbol(monkeypatch, "generate_signals", "generate_signals_range")

    result = cycle_env.run_cycle(first=keys[0], last=keys[-1], launched_by="backfill")

    assert result.success
    runs = cycle_env.runs()
    assert sorted(r["partition_key"] for r in runs) == keys
    line = f"{BROKEN}: signals: FloatingPointError: {INJECTED}"
    for run in runs:
        assert (run["status"], run["errors"], run["symbols_processed"]) == ("PARTIAL", [line], 7)
    stored = cycle_env.rows(tables.generated_signals)
    kept = analysis.aggregate_signals(session_signals)  # a range run drops near-duplicates
    assert signal_keys(stored) == expected_keys(kept, keys, without=BROKEN)
    # caught up long after the bars: every kept signal is logged (stale), none is lost
    log = cycle_env.rows(tables.notification_log)
    assert sorted(r["status"] for r in log) == ["STALE"] * len(stored)


def test_a_symbol_whose_indicators_fail_is_an_error_line_and_its_signals_still_count(
    cycle_env: CycleEnv, session_signals: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    bar = busiest_bar(session_signals)
    break_symbol(monkeypatch, "compute_indicators")

    result = cycle_env.run_cycle(bar.key)

    assert result.success
    (row,) = cycle_env.runs()
    assert row["status"] == "PARTIAL"
    assert row["errors"] == [f"{BROKEN}: indicators: FloatingPointError: {INJECTED}"]
    assert row["symbols_processed"] == 8  # its signals were computed: the step works on bars
    stored = cycle_env.rows(tables.generated_signals)
    assert signal_keys(stored) == expected_keys(session_signals, [bar.key])


@pytest.mark.parametrize(
    ("when", "why"),
    [
        (lambda present: True, "every symbol fails alone"),
        (lambda present: len(present) > 1, "only the symbols together fail"),
    ],
)
def test_a_failure_that_is_no_single_symbols_fails_the_run(
    cycle_env: CycleEnv,
    session_signals: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
    when: Callable[[set[str]], bool],
    why: str,
) -> None:
    bar = busiest_bar(session_signals)
    break_symbol(monkeypatch, "generate_signals", when=when)

    result = cycle_env.run_cycle(bar.key)

    assert not result.success, why
    (row,) = cycle_env.runs()
    assert row["status"] == "FAILED"
    assert row["errors"] == [f"signals: FloatingPointError: {INJECTED}"]
    assert cycle_env.rows(tables.generated_signals) == []
    assert cycle_env.scheduler_state()["status"] == "ERROR"


# -- max_symbols_per_cycle at run time --------------------------------------------------------


@pytest.mark.parametrize(
    ("configured", "extra", "limit", "dropped"),
    [
        (["SPY"], ["IWM", "DIA"], 2, "dropped 1 (DIA)"),
        (["SPY", "XLF"], ["XLF", "IWM", "DIA"], 2, "dropped 2 (IWM, DIA)"),
        (
            ["SPY"],
            [f"T{i:02d}" for i in range(14)],
            3,
            "dropped 12 (T02, T03, T04, T05, T06, T07, T08, T09, T10, T11 and 2 more)",
        ),
    ],
)
def test_symbols_over_the_cap_are_cut_with_a_warning_and_the_run_is_partial(
    cycle_env: CycleEnv, configured: list[str], extra: list[str], limit: int, dropped: str
) -> None:
    """The config's symbols plus an `every_bar` watchlist's, in that order, each once."""
    cycle_env.configure(symbols=configured, max_symbols_per_cycle=limit)
    with write_transaction(cycle_env.engine) as conn:
        watchlist_store.add_watchlist(conn, "more", extra, "every_bar")
    wanted = list(dict.fromkeys([*configured, *extra]))

    result = cycle_env.run_cycle(session_bars(SESSION)[3].key)

    assert result.success
    (row,) = cycle_env.runs()
    assert row["status"] == "PARTIAL"
    assert row["errors"] == [
        f"symbols: {len(wanted)} requested, max_symbols_per_cycle is {limit}: {dropped}"
    ]
    assert (row["symbols_requested"], row["symbols_processed"]) == (len(wanted), limit)
    stored = {s["symbol"] for s in cycle_env.rows(tables.generated_signals)}
    assert stored <= set(wanted[:limit])


def test_symbols_within_the_cap_run_without_a_warning(cycle_env: CycleEnv) -> None:
    cycle_env.configure(symbols=["SPY"], max_symbols_per_cycle=2)
    with write_transaction(cycle_env.engine) as conn:
        watchlist_store.add_watchlist(conn, "more", ["IWM"], "every_bar")

    assert cycle_env.run_cycle(session_bars(SESSION)[3].key).success

    (row,) = cycle_env.runs()
    assert (row["status"], row["errors"], row["symbols_processed"]) == ("SUCCESS", [], 2)


# -- the watchlist job runs the same steps ----------------------------------------------------


@pytest.mark.parametrize(
    ("symbols", "limit", "broken", "line"),
    [
        (
            ["AAPL", BROKEN, "MSFT"],
            50,
            True,
            f"{BROKEN}: signals: FloatingPointError: {INJECTED}",
        ),
        (
            ["AAPL", "MSFT", "NVDA", BROKEN],
            2,
            False,
            "symbols: 4 requested, max_symbols_per_cycle is 2: dropped 2 (NVDA, QQQ)",
        ),
    ],
)
def test_a_watchlist_run_leaves_out_what_the_cycle_would_and_is_partial(
    cycle_env: CycleEnv,
    monkeypatch: pytest.MonkeyPatch,
    symbols: list[str],
    limit: int,
    broken: bool,
    line: str,
) -> None:
    # The config's own list must fit the limit (a longer one is refused when it is read).
    cycle_env.configure(symbols=["SPY"], max_symbols_per_cycle=limit)
    with write_transaction(cycle_env.engine) as conn:
        watchlist_store.add_watchlist(conn, "noon", symbols, "12:00")
    if broken:
        break_symbol(monkeypatch, "generate_signals")
    config = {"name": "noon", "session": SESSION.isoformat(), "due": "2026-11-20T12:00:00-05:00"}

    result = cycle_env.defs.resolve_job_def("watchlist_job").execute_in_process(
        instance=cycle_env.instance, run_config={"ops": {"run_watchlist": {"config": config}}}
    )

    assert result.success
    (row,) = cycle_env.runs()
    assert (row["kind"], row["status"], row["errors"]) == ("watchlist", "PARTIAL", [line])
    assert (row["symbols_requested"], row["symbols_processed"]) == (len(symbols), 2)
    assert BROKEN not in {s["symbol"] for s in cycle_env.rows(tables.generated_signals)}
    (watchlist,) = cycle_env.rows(tables.watchlists)
    assert watchlist["last_run_status"] == "PARTIAL"
