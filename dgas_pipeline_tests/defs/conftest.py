"""Fixtures of the cycle's integration tests: a fresh Dagster home and database per test.

`cycle_env` gives each test an empty DAGSTER_HOME (a real instance on disk), its own database
(SQLite and PostgreSQL, through `db_url`), a config file in tmp_path, and the code location
rebuilt from them: the deployment of `dgas_pipeline_tests.deployment`, which the automation
tests use too, plus ways to run the cycle and the EOD.

Which bars have signals is not written down by hand (the analysis evolves): `session_signals`
asks the analysis the way the `signals` asset does, once per test session.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from dgas_pipeline import analysis
from dgas_pipeline.config import SchedulerConfig, validate_config
from dgas_pipeline.data import SyntheticProvider, fetch_bars
from dgas_pipeline.defs import build_definitions
from dgas_pipeline.defs.names import LAUNCHED_BY_TAG
from dgas_pipeline.location import Location
from dgas_pipeline.market import MarketHoursManager, cycle_partition_key
from dgas_pipeline.market.bars import Bar, history_start
from dgas_pipeline_tests.deployment import QUIET as QUIET
from dgas_pipeline_tests.deployment import Deployment, deployed
from dgas_pipeline_tests.deployment import forget_code_location as forget_code_location
from dgas_pipeline_tests.deployment import isolate as isolate
from dgas_pipeline_tests.deployment import reload_code_location as reload_code_location
from dgas_pipeline_tests.notify.servers import Webhook, serve_webhook

SESSION = date(2026, 11, 20)  # a regular Friday session, 13 bars
WEEK = (date(2026, 11, 16), date(2026, 11, 20))
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


@functools.cache
def default_market() -> MarketHoursManager:
    return MarketHoursManager()


def session_bars(day: date) -> list[Bar]:
    """The planner's bars of a session at the default interval."""
    market = default_market()
    interval = SchedulerConfig().interval_delta
    return [
        Bar(cycle_partition_key(market, start), start, end)
        for start, end in market.session_intervals(day, interval)
    ]


class CycleEnv(Deployment):
    """A deployment that runs the cycle and the EOD the way the CLI and backfills do."""

    def run_cycle(
        self,
        key: str | None = None,
        *,
        first: str | None = None,
        last: str | None = None,
        symbols: list[str] | None = None,
        launched_by: str = "cli",
    ) -> dg.ExecuteInProcessResult:
        """One partition (`key`) or a range run (`first`..`last`), as the CLI/backfill runs."""
        tags = {LAUNCHED_BY_TAG: launched_by}
        if key is None:
            assert first and last
            tags |= {RANGE_START: first, RANGE_END: last}
        config = {"ops": {"bars": {"config": {"symbols": symbols or []}}}}
        return self.run_job("prediction_cycle", key, tags, config)

    def run_eod(self, day: date) -> dg.ExecuteInProcessResult:
        return self.run_job("eod_job", day.isoformat(), {LAUNCHED_BY_TAG: "cli"})


@pytest.fixture
def cycle_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> Iterator[CycleEnv]:
    """A DAGSTER_HOME that does not exist yet, a fresh database, the default config."""
    with deployed(tmp_path, monkeypatch, db_url, CycleEnv) as env:
        yield env


@pytest.fixture
def code_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., dg.Definitions]]:
    """`build(config, **env)`: the Definitions of a config object, as a code server builds
    them in that environment."""
    isolate(tmp_path, monkeypatch)

    def build(config: dict[str, Any] | None = None, **env: str) -> dg.Definitions:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return build_definitions(Location.from_config(validate_config(config or {})))

    yield build
    forget_code_location()


# -- what the analysis finds, the oracle for choosing bars ------------------------------------


@pytest.fixture(scope="session")
def session_signals() -> pd.DataFrame:
    """Signals a fresh single-bar run of each bar of SESSION finds, with their partition_key."""
    return signals_of_session(SESSION)


def signals_of_session(day: date) -> pd.DataFrame:
    """Signals a fresh single-bar run of each bar of `day` finds, with their partition_key.

    The default config on the synthetic provider; unaggregated, because a bar's own run on an
    empty database has nothing earlier to deduplicate against (at most one per symbol).
    """
    config = SchedulerConfig()
    market = default_market()
    bars = session_bars(day)
    start = history_start(market, bars[0].start, config.history_sessions)
    fetched = fetch_bars(
        [SyntheticProvider(market, seed=config.provider.synthetic_seed)],
        config.symbols,
        start,
        bars[-1].end,
        config.interval_delta,
        market,
    )
    assert not fetched.errors
    found = analysis.generate_signals_range(
        fetched.bars,
        bars[0].start,
        bars[-1].end,
        config.enabled_timeframes,
        analysis.SignalThresholds(
            min_confidence=config.min_confidence,
            min_signal_strength=config.min_signal_strength,
            min_alignment=config.min_alignment,
            enabled_patterns=config.enabled_patterns,
        ),
    )
    owners = [
        cycle_partition_key(market, ts.to_pydatetime() - config.interval_delta)
        for ts in found["signal_timestamp"]
    ]
    return found.assign(partition_key=owners)


def busiest_bar(signals: pd.DataFrame, without: tuple[str, ...] = ()) -> Bar:
    """The bar of SESSION with the most signals (of symbols not in `without`)."""
    counts = signals[~signals["symbol"].isin(without)]["partition_key"].value_counts()
    assert len(counts), "no signals in the session: pick another SESSION"
    key = counts.index[0]
    return next(b for b in session_bars(SESSION) if b.key == key)


def live_at(bar: Bar, minutes: int = 2) -> datetime:
    """A few minutes after the bar's end: when the live cycle of the bar runs."""
    return bar.end.astimezone(UTC) + timedelta(minutes=minutes)


# -- a loopback webhook ----------------------------------------------------------------------


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    """A real HTTP server on 127.0.0.1 that records POSTs; `default_status` scripts answers."""
    with serve_webhook() as hook:
        yield hook


def channels(hook: Webhook) -> dict[str, Any]:
    """Config of console + the loopback webhook, retrying without waiting."""
    return {
        "channels": [{"name": "console", "url": "console"}, {"name": "hook", "url": hook.url()}],
        "max_attempts": 2,
        "backoff_base_seconds": 0,
        "backoff_max_seconds": 0,
    }
