"""The bad-input tables' machinery: one `Case` type, the instance every case runs against,
and what every refusal must show.

The tables (test_bad_input*.py) hold cases from a user's point of view: CLI arguments, the
files people hand us, the environment, REST requests. Each case must be refused:

- on the command line: exit 2 (`Case.code`), nothing on stdout, one stderr line per problem,
  `dgas: <field>: ...`, naming `Case.names` in order, `Case.detail` in the first line, every
  line short (`LINE_MAX`), no `Traceback` in stdout or stderr;
- over REST: the 4xx of `Case.code`, naming `Case.names`, the answer short (echoes cut), no
  traceback in it nor in the server's log;

and must leave everything as it was, refused before anything is launched or stored:

- `Snapshot`: every table of our database (found by reflection, not from our model, so a table
  the code does not know about counts too), the Dagster instance's runs and backfills, and the
  files under DAGSTER_HOME and the working directory, equal before and after;
- a command is run twice: once with a DAGSTER_HOME that does not exist (it must still not
  exist afterwards), once on the prepared instance;
- after every case `dgas status` exits 0 on that instance and reads it (run where the
  instance was made, as its user runs it): its last run is the prepared run, no run is
  skipped or reconciled, and the snapshot is still the same.

The prepared instance (`prepare_instance`) is a real one: a watchlist, a SUCCESS cycle with
signals, notifications and alert state, so every table a refusal could touch has rows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import re
import socket
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import yaml

from dgas_pipeline.store.engine import dispose_engine, make_engine
from dgas_pipeline_tests.api.conftest import TOKEN, live_server
from dgas_pipeline_tests.automation.conftest import ONE_RULE
from dgas_pipeline_tests.deployment import DGAS_ENV, forget_code_location, instance_at, run_dgas
from dgas_pipeline_tests.refusals import files_under

EXIT_BAD_INPUT = 2
UNPROCESSABLE = 422
LINE_MAX = 700
"""A refusal's line: a field (<= 160 characters), a value (<= 80), an expectation (<= 400)."""
ANSWER_MAX = 20_000
"""A refusing REST answer: at most 51 problems, each echoing at most 80 characters."""
SECRET = "hunter2"  # noqa: S105  (a sentinel, not a secret)
"""A password or key a case may carry: never echoed by a refusal."""
PREPARED_AT = "2026-11-18T10:35:00-05:00"  # a past bar whose cycle finds signals
WATCHLIST = "core"

# -- the case -------------------------------------------------------------------------------------

Maker = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    """One bad input and what its refusal must name.

    `kind` says how `given` is fed in: `cli` (argv of `dgas`, in this process), `script` (argv
    of the installed `dgas` script in a process of its own, stdin an empty pipe), `rest`
    ((method, path, body, headers) against the API), or a kind of a table's own. `{work}` in
    argv, environment values and file texts is the case's working directory.
    """

    kind: str
    given: Any
    names: tuple[str, ...]
    """The field each line (each problem) names, in order; for data, the symbol."""
    detail: str = ""
    """A piece of the first line."""
    files: Mapping[str, str | bytes | Maker] = field(default_factory=dict)
    """Made in the working directory first: text, bytes, or made by a `Maker`."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Environment variables for the command (DAGSTER_HOME among them: then used as is)."""
    code: int = EXIT_BAD_INPUT
    """The exit code; for REST, the HTTP status."""


def cases(kind: str, rows: list[tuple[Any, ...]]) -> list[Any]:
    """pytest params of `kind` from rows `(id, given, names, detail[, files[, env[, code]]])`;
    the code is 2 (exit code) by default, 422 for REST."""
    params = []
    for case_id, given, names, *rest in rows:
        names = (names,) if isinstance(names, str) else tuple(names)
        case = Case(kind, given, names, *rest)
        if len(rest) < 4 and kind == "rest":
            case = dataclasses.replace(case, code=UNPROCESSABLE)
        params.append(pytest.param(case, id=case_id))
    return params


# -- files a case needs ---------------------------------------------------------------------------


def directory(path: Path) -> None:
    path.mkdir()


def fifo(path: Path) -> None:
    os.mkfifo(path)


def symlink_to(target: str) -> Maker:
    def make(path: Path) -> None:
        path.symlink_to(placed(target, path.parent))

    return make


def sparse(size: int) -> Maker:
    """A file of `size` bytes that takes no disk space."""

    def make(path: Path) -> None:
        with path.open("wb") as handle:
            handle.truncate(size)

    return make


def unix_socket(path: Path) -> None:
    """A socket file; its server is closed at once (the file stays)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))


def placed(text: str, work: Path) -> str:
    """`text` with `{work}` replaced by the working directory."""
    return text.replace("{work}", str(work))


def make_files(work: Path, files: Mapping[str, str | bytes | Maker]) -> None:
    for name, content in files.items():
        path = work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(placed(content, work), "utf-8")
        else:
            content(path)


# -- what a refusal shows -------------------------------------------------------------------------


def assert_refused_lines(case: Case, code: int, out: str, err: str) -> None:
    """Exit code, nothing on stdout, one bounded `dgas: <field>: ...` line per named field."""
    context = (case.given, err[-3000:])
    assert "Traceback" not in out and "Traceback" not in err, context
    assert SECRET not in out and SECRET not in err, context
    assert (code, out) == (case.code, ""), context
    lines = err.splitlines()
    assert [line.split(": ", 2)[1] if line.count(": ") >= 2 else line for line in lines] == [
        *case.names
    ], context
    for name, line in zip(case.names, lines, strict=True):
        assert line.startswith(f"dgas: {name}: "), context
        assert len(line) < LINE_MAX, line[:200]
    assert case.detail in lines[0], context


def assert_refused_answer(case: Case, response: httpx.Response) -> None:
    """The 4xx of the case, naming its fields in order, short, no traceback."""
    context = (case.given, response.status_code, response.text[:2000])
    assert response.status_code == case.code, context
    assert 400 <= response.status_code < 500, context
    assert len(response.content) < ANSWER_MAX, context
    assert "Traceback" not in response.text, context
    detail = response.json()["detail"]
    if isinstance(detail, list):  # 422: one problem per field
        assert [p["field"] for p in detail] == [*case.names], context
        for problem in detail:
            assert problem["msg"].startswith(f"{problem['field']}: "), context
        first = detail[0]["msg"]
    else:  # 401, 404, 405, 409, 413: one field
        assert [response.json()["field"]] == [*case.names], context
        first = detail
    assert first.startswith(f"{case.names[0]}: ") and case.detail in first, context


# -- the instance a case runs against -------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """A DAGSTER_HOME and a database holding one watchlist and one SUCCESS cycle."""

    root: Path
    home: Path
    db_url: str
    config: Path
    run_id: str


def base_env(home: Path | str, db_url: str) -> dict[str, str]:
    """What every command of a case sees: this home and database, no other DGAS_* setting."""
    return {"DAGSTER_HOME": str(home), "DGAS_DATABASE_URL": db_url}


def prepare_instance(root: Path) -> Prepared:
    """A real instance, made through `dgas` as a user makes one; forgotten by this process
    afterwards (the cases must find it on disk, not in a cache)."""
    root = root.resolve()
    home, db_url = root / "dagster_home", f"sqlite:///{root / 'dgas.db'}"
    (root / "rules.yaml").write_text(yaml.safe_dump(ONE_RULE), encoding="utf-8")
    config = root / "dgas.yaml"
    config.write_text(f"alerts_file: {root / 'rules.yaml'}\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as monkeypatch:
        _set_env(monkeypatch, root, base_env(home, db_url))
        code, _, err = run_dgas("watchlist", "add", WATCHLIST, "--symbols", "SPY,AAPL")
        assert code == 0, err
        code, out, err = run_dgas(
            "run-once", "--at", PREPARED_AT, "--config", str(config), "--json"
        )
        assert code == 0, err
        summary = json.loads(out)
        forget_code_location()
    assert summary["status"] == "SUCCESS" and summary["signals"] > 0, summary
    prepared = Prepared(root, home, db_url, config, summary["run_id"])
    dump = database_dump(db_url)
    for table in ("prediction_runs", "generated_signals", "notification_log", "watchlists"):
        assert dump[table], f"the prepared instance has no {table} row"
    assert dump["alert_state"], "the prepared instance has no alert state"
    return prepared


def _set_env(monkeypatch: pytest.MonkeyPatch, cwd: Path, env: Mapping[str, str]) -> None:
    monkeypatch.chdir(cwd)
    for name in (*DGAS_ENV, "DAGSTER_HOME", "DAGSTER_POSTGRES_URL", "DGAS_API_TOKEN"):
        monkeypatch.setenv(name, "-")  # recorded, so teardown undoes what `dgas` exports
        monkeypatch.delenv(name)
    for name, value in env.items():
        if value:  # "": the variable is not set
            monkeypatch.setenv(name, value)


# -- the dump -------------------------------------------------------------------------------------


def database_dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table in the database, found by reflection, in a stable order."""
    engine = make_engine(url)
    metadata = sa.MetaData()
    metadata.reflect(engine)
    with engine.connect() as conn:
        return {
            table.name: sorted((tuple(row) for row in conn.execute(sa.select(table))), key=repr)
            for table in metadata.sorted_tables
        }


def instance_dump(home: Path) -> dict[str, Any]:
    """The Dagster instance's runs (id, job, status, tags) and backfills (id, status)."""

    with instance_at(home) as instance:
        runs = [
            (run.run_id, run.job_name, run.status.value, sorted(run.tags.items()))
            for run in instance.get_runs()
        ]
        backfills = [(b.backfill_id, b.status.value) for b in instance.get_backfills()]
    return {"runs": runs, "backfills": backfills}


@dataclass(frozen=True)
class Snapshot:
    """What a refused command must leave as it was."""

    tables: dict[str, list[tuple[Any, ...]]]
    instance: dict[str, Any]
    home_files: set[str]
    work_files: set[str]


# -- the API on the prepared instance -------------------------------------------------------------


@dataclass
class Api:
    """The API served (with a token) on the prepared instance's database, and what its
    server logged at ERROR or with a traceback: no refused request may cause either."""

    base_url: str
    errors: list[str] = field(default_factory=list)

    def send(self, given: tuple[str, str, Any, Mapping[str, str | None]]) -> httpx.Response:
        """`(method, path, body, headers)`: the path as written (`..` and `%FF` are the
        client's), the right token unless the headers say otherwise (None: no header)."""
        method, path, body, headers = given
        sent = {"Authorization": f"Bearer {TOKEN}", **headers}
        options: dict[str, Any] = {"headers": {k: v for k, v in sent.items() if v is not None}}
        if isinstance(body, bytes):
            options["content"] = body
        elif body is not None:
            options["json"] = body
        with httpx.Client(base_url=self.base_url, timeout=60) as client:
            request = client.build_request(method, path, **options)
            request.url = request.url.copy_with(raw_path=path.encode())
            return client.send(request)


class _ErrorLog(logging.Handler):
    def __init__(self, seen: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.seen = seen

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.seen.append(record.getMessage())


@contextlib.contextmanager
def api_on(prepared: Prepared) -> Iterator[Api]:
    """The API over the prepared database; its error log is checked once more after it
    stopped (uvicorn logs an application's exception after the answer went out)."""
    from dgas_pipeline.api import create_app
    from dgas_pipeline.config import SchedulerConfig

    logger = logging.getLogger("uvicorn")
    app = create_app(prepared.db_url, TOKEN, config=SchedulerConfig())
    with live_server(app) as base_url:
        api = Api(base_url)
        handler = _ErrorLog(api.errors)
        logger.addHandler(handler)
        try:
            yield api
        finally:
            logger.removeHandler(handler)
    assert api.errors == []


# -- a case's scene -------------------------------------------------------------------------------


@dataclass
class Scene:
    """One case's working directory on the prepared instance, and the checks."""

    prepared: Prepared
    work: Path
    monkeypatch: pytest.MonkeyPatch

    @property
    def absent_home(self) -> Path:
        return self.work / "no_home_yet"

    def snapshot(self) -> Snapshot:
        return Snapshot(
            database_dump(self.prepared.db_url),
            instance_dump(self.prepared.home),
            _stable_files(self.prepared.home),
            _stable_files(self.work),
        )

    def refuses(self, case: Case, argv: tuple[str, ...] | None = None) -> str:
        """`dgas argv` (default: the case's) refused, nothing changed, then `dgas status`;
        returns the last stderr.

        Without a DAGSTER_HOME of the case's own, twice: first with a home that does not
        exist (it must not be created; the database must not change), then on the prepared
        instance (nothing of it may change).
        """
        argv = tuple(placed(part, self.work) for part in (argv or case.given))
        env = {name: placed(value, self.work) for name, value in case.env.items()}
        if "DAGSTER_HOME" not in env:
            before_quick = self.quick_snapshot()
            self.run_refused(
                case, argv, {**base_env(self.absent_home, self.prepared.db_url), **env}
            )
            assert not self.absent_home.exists(), f"{argv} created DAGSTER_HOME"
            assert self.quick_snapshot() == before_quick, f"{argv} changed what is stored"
        before = self.snapshot()
        err = self.run_refused(
            case, argv, {**base_env(self.prepared.home, self.prepared.db_url), **env}
        )
        assert self.snapshot() == before, f"{argv} changed what is stored"
        self.assert_status_reads_the_instance(before)
        return err

    def refused_by_api(self, api: Api, case: Case) -> None:
        """The request of the case refused, nothing changed, then `dgas status`."""
        before = self.snapshot()
        assert_refused_answer(case, api.send(case.given))
        assert api.errors == []
        assert self.snapshot() == before, f"{case.given[:2]} changed what is stored"
        self.assert_status_reads_the_instance(before)

    def run_refused(self, case: Case, argv: tuple[str, ...], env: Mapping[str, str]) -> str:
        with self.environment(env):
            code, out, err = self.run(case, argv)
        assert_refused_lines(case, code, out, err)
        return err

    def quick_snapshot(self) -> tuple[dict[str, list[tuple[Any, ...]]], set[str]]:
        """Our tables and the working directory's files (not the Dagster instance's)."""
        return database_dump(self.prepared.db_url), _stable_files(self.work)

    def run(self, case: Case, argv: tuple[str, ...]) -> tuple[int, str, str]:
        if case.kind != "script":
            return run_dgas(*argv)
        done = subprocess.run(
            [*_script(), *argv],
            cwd=self.work,
            env=dict(os.environ),
            input="",  # stdin: a pipe nothing is written to
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return done.returncode, done.stdout, done.stderr

    @contextlib.contextmanager
    def environment(self, env: Mapping[str, str], cwd: Path | None = None) -> Iterator[None]:
        """`env` (and the working directory) for one command; the code location forgotten
        after it, so the next command builds its own from its own environment."""
        with pytest.MonkeyPatch.context() as monkeypatch:
            _set_env(monkeypatch, cwd or self.work, env)
            try:
                yield
            finally:
                forget_code_location()

    def assert_status_reads_the_instance(self, before: Snapshot | None = None) -> None:
        """`dgas status` exits 0 on the prepared instance, shows its run, changes nothing
        (compared with `before`, the snapshot the case started from, when given). It runs
        where the instance was made, as its user would: the case's files stay out of it."""
        before = before or self.snapshot()
        environment = base_env(self.prepared.home, self.prepared.db_url)
        with self.environment(environment, cwd=self.prepared.root):
            code, out, err = run_dgas("status", "--json")
        assert (code, err) == (0, ""), err[-3000:]
        status = json.loads(out)
        assert status["recent_runs"][0]["dagster_run_id"] == self.prepared.run_id, status
        assert status["skipped_runs"] == [] and status["reconciled"] == 0, status
        assert self.snapshot() == before, "dgas status changed what is stored"


def _stable_files(root: Path) -> set[str]:
    """The files under `root`, without those a reader opens and closes (SQLite's journals,
    Dagster's per-process lock files)."""
    if not root.exists():
        return set()
    return {name for name in files_under(root) if not _TRANSIENT.search(name)}


_TRANSIENT = re.compile(r"(\.lock|-wal|-shm|-journal)$")


def _script() -> list[str]:
    from dgas_pipeline_tests.reliability.conftest import dgas_command

    return dgas_command()


@contextlib.contextmanager
def scene_of(prepared: Prepared, work: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scene]:
    """The case's scene; the engine of the prepared database is let go afterwards."""
    _set_env(monkeypatch, work, base_env(prepared.home, prepared.db_url))
    try:
        yield Scene(prepared, work, monkeypatch)
    finally:
        forget_code_location()
        dispose_engine(prepared.db_url)
