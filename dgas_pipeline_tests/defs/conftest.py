"""Fixtures of the cycle's integration tests: a fresh Dagster home and database per test.

`cycle_env` gives each test an empty DAGSTER_HOME (a real instance on disk), its own database
(SQLite and PostgreSQL, through `db_url`), a config file in tmp_path, and the code location
rebuilt from them: `dgas_pipeline.definitions` builds its resources from the environment at
import, and the location and migrated engine are cached per process, so both are reset here.

Which bars have signals is not written down by hand (the analysis evolves): `session_signals`
asks the analysis the way the `signals` asset does, once per test session.
"""

from __future__ import annotations

import functools
import importlib
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from dgas_pipeline import analysis
from dgas_pipeline.config import SchedulerConfig
from dgas_pipeline.data import SyntheticProvider, fetch_bars
from dgas_pipeline.defs import resources
from dgas_pipeline.defs.location import load_location
from dgas_pipeline.defs.mirror import LAUNCHED_BY_TAG
from dgas_pipeline.instance import ensure_dagster_home
from dgas_pipeline.market import MarketHoursManager, cycle_partition_key
from dgas_pipeline.market.bars import Bar, history_start
from dgas_pipeline.store import tables
from dgas_pipeline.store.engine import make_engine
from dgas_pipeline_tests.notify.servers import Webhook

SESSION = date(2026, 11, 20)  # a regular Friday session, 13 bars
WEEK = (date(2026, 11, 16), date(2026, 11, 20))
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}

warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)


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


def reload_code_location() -> Any:
    """Forget what the process cached of the last config, home and database; rebuild defs."""
    load_location.cache_clear()
    resources._migrated_engine.cache_clear()
    module = sys.modules.get("dgas_pipeline.definitions")
    if module is None:
        module = importlib.import_module("dgas_pipeline.definitions")
    else:
        module = importlib.reload(module)
    return module.defs


def forget_code_location() -> None:
    """Leave no test's home, config or database behind: the next import builds afresh."""
    load_location.cache_clear()
    resources._migrated_engine.cache_clear()
    sys.modules.pop("dgas_pipeline.definitions", None)


@dataclass
class CycleEnv:
    """One test's deployment: DAGSTER_HOME, database, config file, and ways to run jobs."""

    home: Path
    db_url: str
    config_path: Path
    monkeypatch: pytest.MonkeyPatch
    defs: dg.Definitions | None = None
    _instance: dg.DagsterInstance | None = field(default=None, repr=False)

    def configure(self, **settings: Any) -> None:
        """Write dgas.yaml (defaults for what is not given) and reload the code location."""
        self.config_path.write_text(yaml.safe_dump(settings), encoding="utf-8")
        self.monkeypatch.setenv("DGAS_CONFIG", str(self.config_path))
        self.defs = reload_code_location()

    @property
    def instance(self) -> dg.DagsterInstance:
        """The instance in DAGSTER_HOME, which the first use creates (as `dgas` does)."""
        if self._instance is None:
            ensure_dagster_home()
            self._instance = dg.DagsterInstance.get()
        return self._instance

    @property
    def engine(self) -> sa.Engine:
        return make_engine(self.db_url)

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
        assert self.defs is not None
        tags = {LAUNCHED_BY_TAG: launched_by}
        if key is None:
            assert first and last
            tags |= {RANGE_START: first, RANGE_END: last}
        return self.defs.resolve_job_def("prediction_cycle").execute_in_process(
            partition_key=key,
            instance=self.instance,
            run_config={"ops": {"bars": {"config": {"symbols": symbols or []}}}, **QUIET},
            tags=tags,
            raise_on_error=False,
        )

    def run_eod(self, day: date) -> dg.ExecuteInProcessResult:
        assert self.defs is not None
        return self.defs.resolve_job_def("eod_job").execute_in_process(
            partition_key=day.isoformat(),
            instance=self.instance,
            run_config=QUIET,
            tags={LAUNCHED_BY_TAG: "cli"},
            raise_on_error=False,
        )

    def rows(self, table: sa.Table, *where: Any) -> list[dict[str, Any]]:
        order = [c for c in ("id",) if c in table.c]
        with self.engine.connect() as conn:
            result = conn.execute(sa.select(table).where(*where).order_by(*order))
            return [dict(r) for r in result.mappings()]

    def scheduler_state(self) -> dict[str, Any]:
        (state,) = self.rows(tables.scheduler_state)
        return state

    def close(self) -> None:
        if self._instance is not None:
            self._instance.dispose()
            self._instance = None


def isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory and a DAGSTER_HOME that does not exist yet; no DGAS_*."""
    home = tmp_path.resolve() / "dagster_home"
    monkeypatch.chdir(tmp_path)  # no developer's ./dgas.yaml or ./.dagster_home
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    for name in ("DGAS_CONFIG", "DGAS_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def cycle_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> Iterator[CycleEnv]:
    """A DAGSTER_HOME that does not exist yet, a fresh database, the default config."""
    home = isolate(tmp_path, monkeypatch)
    monkeypatch.setenv("DGAS_DATABASE_URL", db_url)
    env = CycleEnv(home, db_url, tmp_path / "dgas.yaml", monkeypatch)
    env.configure()
    try:
        yield env
    finally:
        env.close()
        forget_code_location()


@pytest.fixture
def code_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., dg.Definitions]]:
    """`build(config, **env)`: the Definitions as a code server loads them with that setup."""
    isolate(tmp_path, monkeypatch)

    def build(config: dict[str, Any] | None = None, **env: str) -> dg.Definitions:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        if config is not None:
            path = tmp_path / "dgas.yaml"
            path.write_text(yaml.safe_dump(config), encoding="utf-8")
            monkeypatch.setenv("DGAS_CONFIG", str(path))
        return reload_code_location()

    yield build
    forget_code_location()


# -- what the analysis finds, the oracle for choosing bars ------------------------------------


@pytest.fixture(scope="session")
def session_signals() -> pd.DataFrame:
    """Signals a fresh single-bar run of each bar of SESSION finds, with their partition_key.

    The default config on the synthetic provider; unaggregated, because a bar's own run on an
    empty database has nothing earlier to deduplicate against (at most one per symbol).
    """
    config = SchedulerConfig()
    market = default_market()
    bars = session_bars(SESSION)
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
    hook = Webhook(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length).decode()
            with hook.lock:
                hook.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                status = hook.statuses.pop(0) if hook.statuses else hook.default_status
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read `requests`."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def channels(hook: Webhook) -> dict[str, Any]:
    """Config of console + the loopback webhook, retrying without waiting."""
    return {
        "channels": [{"name": "console", "url": "console"}, {"name": "hook", "url": hook.url()}],
        "max_attempts": 2,
        "backoff_base_seconds": 0,
        "backoff_max_seconds": 0,
    }
