"""One test's deployment of dgas: a DAGSTER_HOME, a database, a config file, the code location.

Shared by the cycle tests (`defs/`), the automation tests and whoever builds on them. The home
does not exist until first used (`dgas` creates it, copying the repo's dagster.yaml), so a
test starts from what a new user has. The location (per config file) and the migrated engine
are cached per process, and the definitions are built from a location (the resources read
the environment then): `configure` forgets the caches and builds the definitions the CLI
will use, and `forget_code_location` leaves nothing of a test's location behind.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml

from dgas_pipeline.cli.main import main
from dgas_pipeline.cycle.services import CycleServices
from dgas_pipeline.dagster_home import ensure_dagster_home
from dgas_pipeline.location import current_location, forget_locations
from dgas_pipeline.operate.instance import definitions_of
from dgas_pipeline.store import tables
from dgas_pipeline.store.engine import make_engine
from dgas_pipeline.store.schema import ensure_schema

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# Settings a developer's shell (or another test) may have left; none may reach a test.
DGAS_ENV = (
    "DGAS_CONFIG",
    "DGAS_DATABASE_URL",
    "DGAS_CLOCK_FILE",
    "DGAS_CLOCK_OFFSET_SECONDS",
    "DGAS_SENSOR_INTERVAL_SECONDS",
)


def reload_code_location() -> dg.Definitions:
    """Forget what the process cached of the last config, home and database; the definitions
    of the location `DGAS_CONFIG` names, as the CLI loads them."""
    forget_code_location()
    return definitions_of(current_location())


def forget_code_location() -> None:
    """Leave no test's home, config or database behind: the next use builds afresh."""
    forget_locations()
    definitions_of.cache_clear()


def isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory and a DAGSTER_HOME that does not exist yet; no DGAS_*."""
    home = tmp_path.resolve() / "dagster_home"
    monkeypatch.chdir(tmp_path)  # no developer's ./dgas.yaml or ./.dagster_home
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    for name in DGAS_ENV:
        monkeypatch.delenv(name, raising=False)
    return home


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
        """The instance in DAGSTER_HOME, which the first use creates (as `dgas` does)."""
        if self._instance is None:
            ensure_dagster_home()
            self._instance = dg.DagsterInstance.get()
        return self._instance

    @property
    def services(self) -> CycleServices:
        """The cycle services of the deployment, as `dgas` builds them outside a run."""
        return CycleServices(current_location())

    @property
    def sensor_resources(self) -> dict[str, Any]:
        """The resources our sensors take, for a sensor invoked directly."""
        return {name: self.defs.resources[name] for name in ("location", "database")}

    @property
    def engine(self) -> sa.Engine:
        """Our tables, migrated (as the first run or command would leave them)."""
        ensure_schema(self.db_url)
        return make_engine(self.db_url)

    def dgas(self, *argv: str) -> tuple[int, Any, str]:
        """`dgas argv` in this process (so time_machine applies): (code, stdout, stderr).

        stdout is parsed as the one JSON document when `--json` was given.
        """
        code, text, err = run_dgas(*argv)
        return code, (json.loads(text) if "--json" in argv and text else text), err

    def run_job(
        self,
        job_name: str,
        partition_key: str | None,
        tags: Mapping[str, str],
        run_config: Mapping[str, Any] | None = None,
    ) -> dg.ExecuteInProcessResult:
        """Run a job of the location in this process, on the deployment's instance."""
        return self.defs.resolve_job_def(job_name).execute_in_process(
            partition_key=partition_key,
            instance=self.instance,
            run_config={**(run_config or {}), **QUIET},
            tags=dict(tags),
            raise_on_error=False,
        )

    def rows(self, table: sa.Table, *where: Any) -> list[dict[str, Any]]:
        order = [c for c in ("id",) if c in table.c]
        with self.engine.connect() as conn:
            result = conn.execute(sa.select(table).where(*where).order_by(*order))
            return [dict(r) for r in result.mappings()]

    def runs(self, *where: Any) -> list[dict[str, Any]]:
        return self.rows(tables.prediction_runs, *where)

    def scheduler_state(self) -> dict[str, Any]:
        (state,) = self.rows(tables.scheduler_state)
        return state

    def close(self) -> None:
        if self._instance is not None:
            self._instance.dispose()
            self._instance = None


D = TypeVar("D", bound=Deployment)


@contextlib.contextmanager
def deployed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, kind: type[D]
) -> Iterator[D]:
    """A deployment (of class `kind`) on `url` with the default config; forgotten afterwards."""
    home = isolate(tmp_path, monkeypatch)
    monkeypatch.setenv("DGAS_DATABASE_URL", url)
    env = kind(home, url, tmp_path / "dgas.yaml", monkeypatch)
    env.configure()
    try:
        yield env
    finally:
        env.close()
        forget_code_location()


def run_dgas(*argv: str) -> tuple[int, str, str]:
    """`dgas argv` in this process (time_machine applies): (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as stop:  # argparse's own complaints
            code = int(stop.code or 0)
    return code, out.getvalue(), err.getvalue()


@contextlib.contextmanager
def instance_at(home: Path) -> Iterator[dg.DagsterInstance]:
    """The instance of the home a subprocess runs on, opened from this test's process.

    The embedded dagster.yaml names its SQLite event log by `{env: DAGSTER_HOME}`, as every
    Dagster process reading the file from its home has it set; so does this one, meanwhile.
    """
    from unittest.mock import patch

    from dagster._core.instance.ref import InstanceRef

    with (
        patch.dict(os.environ, {"DAGSTER_HOME": str(home)}),
        dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance,
    ):
        yield instance
