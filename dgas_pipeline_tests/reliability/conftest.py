"""Fixtures of the reliability tests: real servers and processes, always cleaned up.

- `pg_cluster`: a PostgreSQL cluster of the test's own (`initdb` + `pg_ctl` on a free port,
  trust auth), which the test may stop and start again. As root, the server binaries run as
  the `postgres` user (PostgreSQL refuses root). Without the binaries the tests are skipped
  on a laptop and fail in CI (`CI=true`), where a silent skip would hide a lost promise.
- `hook`: a loopback webhook that records every POST, answers from a script, can echo a
  request header back in its body (a server that leaks what it was sent) and can hold its
  first answer until a condition holds (to force two runs into the same window).
- `figures`: numbers the tests measure (recovery times, counts); printed at the end of the
  session and written as JSON to `$DGAS_RELIABILITY_FIGURES` when that is set, for
  docs/reliability.md.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from dgas_pipeline.store.engine import dispose_engine
from dgas_pipeline_tests.automation.conftest import REPO, Deployment, _deployment
from dgas_pipeline_tests.defs.conftest import forget_code_location
from dgas_pipeline_tests.defs.conftest import session_signals as session_signals
from dgas_pipeline_tests.reliability.bad_input import (
    Api,
    Prepared,
    Scene,
    api_on,
    prepare_instance,
    scene_of,
)

PG_START_TIMEOUT_S = 60
DGAS = Path(sys.executable).with_name("dgas")
FIGURES_ENV = "DGAS_RELIABILITY_FIGURES"
_FIGURES: dict[str, Any] = {}


def dgas_command() -> list[str]:
    """The installed `dgas` script of this interpreter (or the module when not installed)."""
    return [str(DGAS)] if DGAS.exists() else [sys.executable, "-m", "dgas_pipeline.cli"]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def skip_or_fail(reason: str) -> None:
    if in_ci():
        pytest.fail(reason)
    pytest.skip(reason)


def free_port() -> int:
    """A port the kernel says is free now (from its ephemeral range)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_server_port() -> int:
    """A free port below the kernel's ephemeral range: a server stopped and started again on
    it cannot find it taken by some client's outgoing connection in between."""
    for _ in range(100):
        port = random.randrange(20_000, 32_000)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return free_port()


def wait_until(
    condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.1
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g}s: {what}")
        time.sleep(interval)


# -- a PostgreSQL cluster of the test's own -------------------------------------------------------


def _pg_bin_dir() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").is_file():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@dataclass
class PgCluster:
    """One `initdb`'d data directory and the server on it; `url()` reaches it over TCP."""

    root: Path
    bin_dir: Path
    run_as: list[str]
    port: int = 0
    running: bool = False
    urls: set[str] = field(default_factory=set)

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _run(self, tool: str, *args: str, timeout: float = PG_START_TIMEOUT_S) -> None:
        done = subprocess.run(
            [*self.run_as, str(self.bin_dir / tool), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            log = (
                (self.root / "server.log").read_text(errors="replace")[-2000:]
                if (self.root / "server.log").exists()
                else ""
            )
            raise RuntimeError(f"{tool} {' '.join(args)} failed: {done.stderr}\n{log}")

    def init(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        )

    def start(self) -> None:
        """Start the server; on first start pick a free port (retrying if one is taken)."""
        attempts = 1 if self.port else 3
        for attempt in range(attempts):
            if not self.port or attempt:
                self.port = free_server_port()
            options = (
                f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            try:
                self._run(
                    "pg_ctl",
                    "-D",
                    str(self.data),
                    "-o",
                    options,
                    "-l",
                    str(self.root / "server.log"),
                    "-w",
                    "-t",
                    str(PG_START_TIMEOUT_S),
                    "start",
                )
            except RuntimeError:
                if attempt == attempts - 1:
                    raise
                continue
            self.running = True
            return

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` disconnects every client and rolls back their work."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")
        self.running = False

    def url(self, password: str | None = None, database: str = "postgres") -> str:
        auth = f"postgres:{password}" if password else "postgres"
        url = f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"
        self.urls.add(url)
        return url

    def destroy(self) -> None:
        for url in self.urls:  # the process-wide engines' pooled connections
            dispose_engine(url)
        if self.running:
            with contextlib.suppress(Exception):
                self.stop("immediate")
        pid_file = self.data / "postmaster.pid"
        if pid_file.exists():  # a server pg_ctl could not stop: end it by its own pid
            with contextlib.suppress(Exception):
                os.kill(int(pid_file.read_text().splitlines()[0]), signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def pg_cluster() -> Iterator[PgCluster]:
    """A started cluster of this test's own, destroyed afterwards whatever happened."""
    bin_dir = _pg_bin_dir()
    if bin_dir is None:
        skip_or_fail("PostgreSQL server binaries (initdb, pg_ctl) not found")
    assert bin_dir is not None
    run_as: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="dgas-pg-"))
    if os.geteuid() == 0:
        # initdb and postgres refuse to run as root: run them as the postgres user.
        runuser = shutil.which("runuser")
        try:
            import pwd

            owner = pwd.getpwnam("postgres")
        except KeyError:
            owner = None
        if runuser is None or owner is None:
            shutil.rmtree(root, ignore_errors=True)
            skip_or_fail("running as root, and no postgres user (or runuser) to run initdb as")
        assert owner is not None and runuser is not None
        os.chown(root, owner.pw_uid, owner.pw_gid)
        run_as = [runuser, "-u", "postgres", "--"]
    cluster = PgCluster(root, bin_dir, run_as)
    try:
        try:
            cluster.init()
            cluster.start()
        except (RuntimeError, subprocess.TimeoutExpired) as err:
            skip_or_fail(f"could not start a PostgreSQL cluster of our own: {err}")
        yield cluster
    finally:
        cluster.destroy()


# -- a loopback webhook ---------------------------------------------------------------------------


@dataclass
class Hook:
    """What the webhook server saw and how it answers."""

    port: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    default_status: int = 200
    echo_header: str | None = None
    """Put this request header's value in the body of every non-2xx answer."""
    hold_first: Callable[[], bool] | None = None
    """Answer the first POST only once this returns True (or `hold_timeout` passed)."""
    hold_timeout: float = 60.0
    held: list[tuple[bool, float]] = field(default_factory=list)
    """(condition met, seconds held) of the held answer."""
    hold_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook", query: str = "") -> str:
        return f"json://127.0.0.1:{self.port}{path}" + (f"?{query}" if query else "")

    def message_keys(self) -> list[str]:
        """The `message_key` of each message the POSTs carried (apprise wraps our batch, a list
        of payloads, in `message`)."""
        return [
            payload["message_key"]
            for r in self.requests
            for payload in json.loads(json.loads(r["body"])["message"])
        ]


@pytest.fixture
def hook() -> Iterator[Hook]:
    state = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length).decode()
            with state.lock:
                first = not state.requests
                state.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                status = state.statuses.pop(0) if state.statuses else state.default_status
            if first and state.hold_first is not None:
                started = time.monotonic()
                deadline = started + state.hold_timeout
                met = False
                try:
                    while not (met := state.hold_first()) and time.monotonic() < deadline:
                        time.sleep(0.1)
                except Exception as err:  # reported by the test, not lost in a thread
                    state.hold_errors.append(repr(err))
                state.held.append((met, round(time.monotonic() - started, 2)))
            payload = b""
            if status >= 300 and state.echo_header:
                payload = f"rejected {self.headers.get(state.echo_header, '')}".encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read `requests`."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# -- deployments ---------------------------------------------------------------------------------


@contextlib.contextmanager
def deployment_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> Iterator[Deployment]:
    """The automation tests' deployment (home, database, config, code location) on `url`;
    afterwards the code location is forgotten, so no later test imports this one's."""
    try:
        with _deployment(tmp_path, monkeypatch, url) as env:
            yield env
    finally:
        forget_code_location()


@pytest.fixture
def deployment_on_each_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> Iterator[Deployment]:
    with deployment_on(tmp_path, monkeypatch, db_url) as env:
        yield env


def isolate_env(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    """cwd, DAGSTER_HOME and DGAS_CONFIG of this test only. `dgas --config F` and the first
    use of a home write os.environ directly; a recorded setenv makes teardown undo that too."""
    monkeypatch.chdir(root)
    monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    monkeypatch.setenv("DGAS_CONFIG", "-")
    monkeypatch.delenv("DGAS_CONFIG")


# -- a Dagster home that exists before concurrent processes use it -----------------------------


def prepared_home(root: Path) -> Path:
    """DAGSTER_HOME with the repo's dagster.yaml and its storage created (concurrent first
    use of an empty home races on creating the storage, which is not what is tested here)."""
    home = root.resolve() / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO / "dgas_pipeline" / "dagster.yaml", home / "dagster.yaml")
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        with dg.DagsterInstance.get() as instance:
            instance.get_runs(limit=1)
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = previous
    return home


def process_env(**values: str) -> dict[str, str]:
    """This environment without any DGAS_* or DAGSTER_HOME of the caller, plus `values`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DGAS_") and k != "DAGSTER_HOME"}
    return {**env, **values}


@contextlib.contextmanager
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes started in the block are killed (with their group) when it ends."""
    started: list[subprocess.Popen[str]] = []
    try:
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                with contextlib.suppress(Exception):
                    process.communicate(timeout=10)


# -- the bad-input tables' instance -------------------------------------------------------------


@pytest.fixture(scope="module")
def prepared_instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prepared]:
    """One real instance per table module (a watchlist, a SUCCESS cycle with signals): every
    case of the module is refused against it and must leave it as it was."""
    prepared = prepare_instance(tmp_path_factory.mktemp("prepared"))
    yield prepared
    dispose_engine(prepared.db_url)


@pytest.fixture(scope="module")
def api_on_prepared(prepared_instance: Prepared) -> Iterator[Api]:
    """The REST API (with a token) on the prepared instance's database."""
    with api_on(prepared_instance) as api:
        yield api


@pytest.fixture
def scene(
    prepared_instance: Prepared, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Scene]:
    """A case's empty working directory on the prepared instance."""
    with scene_of(prepared_instance, tmp_path, monkeypatch) as made:
        yield made


# -- measured figures -----------------------------------------------------------------------------


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Callable[[str, Any], None]:
    """`record(name, value)`: keep a measured figure under the test's id."""

    def record(name: str, value: Any) -> None:
        _FIGURES.setdefault(request.node.nodeid, {})[name] = value

    return record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    report_figures(terminalreporter, "reliability figures", _FIGURES, FIGURES_ENV)


def report_figures(
    terminalreporter: Any, section: str, figures: dict[str, dict[str, Any]], env: str
) -> None:
    """Print the figures under `section`, and write them as JSON to the file `$env` names."""
    if not figures:
        return
    terminalreporter.section(section)
    for test, values in sorted(figures.items()):
        shown = ", ".join(f"{k}={v}" for k, v in values.items())
        terminalreporter.write_line(f"{test.rsplit('/', 1)[-1]}: {shown}")
    target = os.environ.get(env)
    if target:
        Path(target).write_text(json.dumps(figures, indent=2, sort_keys=True), encoding="utf-8")
