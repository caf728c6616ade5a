"""Fixtures of the automation tests: one deployment per test, at fixed instants.

A deployment is an empty DAGSTER_HOME (the repo's dagster.yaml is copied in on first use, as
`dgas` does), its own database (`DGAS_DATABASE_URL`), a config file, and the code location
rebuilt from them: `dgas_pipeline.definitions` builds its resources (IO manager directory,
database, config file) from the environment at import, and the location and the migrated
engine are cached per process, so both are reset here.

Dagster only knows partitions whose window ended before "now", and today is not a session we
can pin, so tests run past or future sessions under `time_machine` (which also moves
`time.time`, Dagster's clock).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml

from dgas_pipeline.cli import main
from dgas_pipeline.defs import resources
from dgas_pipeline.defs.location import load_location
from dgas_pipeline.instance import ensure_dagster_home
from dgas_pipeline.store import tables
from dgas_pipeline.store.engine import ensure_schema, make_engine

ET = ZoneInfo("America/New_York")
REPO = Path(__file__).resolve().parents[2]
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
ENV_OF_OTHERS = ("DGAS_CONFIG", "DGAS_CLOCK_OFFSET_SECONDS", "DGAS_SENSOR_INTERVAL_SECONDS")

warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)


def et(text: str) -> datetime:
    """`2026-11-27 11:35[:ss]` read as New York wall time."""
    return datetime.fromisoformat(text).replace(tzinfo=ET)


def reload_code_location() -> dg.Definitions:
    """Forget the cached config, market and engines; rebuild `definitions.defs` from env."""
    load_location.cache_clear()
    resources._migrated_engine.cache_clear()
    module = sys.modules.get("dgas_pipeline.definitions")
    if module is None:
        return importlib.import_module("dgas_pipeline.definitions").defs
    return importlib.reload(module).defs


@dataclass
class Deployment:
    """One test's DAGSTER_HOME, database and config, with the code location built on them."""

    home: Path
    db_url: str
    config_path: Path
    monkeypatch: pytest.MonkeyPatch
    defs: dg.Definitions = field(init=False)
    _instance: dg.DagsterInstance | None = field(default=None, repr=False)

    def configure(self, **settings: Any) -> None:
        """Write dgas.yaml (defaults for what is not given) and reload the code location."""
        self.config_path.write_text(yaml.safe_dump(settings), encoding="utf-8")
        self.monkeypatch.setenv("DGAS_CONFIG", str(self.config_path))
        self.defs = reload_code_location()

    @property
    def instance(self) -> dg.DagsterInstance:
        if self._instance is None:
            ensure_dagster_home()
            self._instance = dg.DagsterInstance.get()
        return self._instance

    @property
    def engine(self) -> sa.Engine:
        """Our tables, migrated (as the first run or command would leave them)."""
        ensure_schema(self.db_url)
        return make_engine(self.db_url)

    def dgas(self, *argv: str) -> tuple[int, Any, str]:
        """`dgas argv` in this process (so time_machine applies): (code, stdout, stderr).

        stdout is parsed as the one JSON document when `--json` was given.
        """
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(argv))
            except SystemExit as stop:  # argparse's own complaints
                code = int(stop.code or 0)
        text = out.getvalue()
        return code, (json.loads(text) if "--json" in argv and text else text), err.getvalue()

    def run_job(
        self, job_name: str, partition_key: str | None, tags: dict[str, str]
    ) -> dg.ExecuteInProcessResult:
        return self.defs.resolve_job_def(job_name).execute_in_process(
            partition_key=partition_key,
            instance=self.instance,
            run_config=QUIET,
            tags=tags,
            raise_on_error=False,
        )

    def rows(self, table: sa.Table, *where: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            result = conn.execute(sa.select(table).where(*where).order_by(table.c.id))
            return [dict(r) for r in result.mappings()]

    def runs(self, *where: Any) -> list[dict[str, Any]]:
        return self.rows(tables.prediction_runs, *where)

    def scheduler_state(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(tables.scheduler_state)).mappings().one()
            return dict(row)

    def close(self) -> None:
        if self._instance is not None:
            self._instance.dispose()
            self._instance = None


@contextlib.contextmanager
def _deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str) -> Iterator[Deployment]:
    home = tmp_path.resolve() / "dagster_home"
    monkeypatch.chdir(tmp_path)  # no developer's ./dgas.yaml or ./.dagster_home
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DGAS_DATABASE_URL", url)
    for name in ENV_OF_OTHERS:
        monkeypatch.delenv(name, raising=False)
    env = Deployment(home, url, tmp_path / "dgas.yaml", monkeypatch)
    env.configure()
    try:
        yield env
    finally:
        env.close()
        load_location.cache_clear()
        resources._migrated_engine.cache_clear()


@pytest.fixture
def deployment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> Iterator[Deployment]:
    """A deployment on SQLite: for what does not depend on the database backend."""
    with _deployment(tmp_path, monkeypatch, sqlite_url) as env:
        yield env


@pytest.fixture
def deployment_on_each_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> Iterator[Deployment]:
    """The same deployment once on SQLite and once on PostgreSQL."""
    with _deployment(tmp_path, monkeypatch, db_url) as env:
        yield env
