"""Real `dagster-daemon` and `dagster-webserver` processes for tests and benchmarks.

One `Site` is what an operator runs: a DAGSTER_HOME (the repo's `dagster.yaml`, or
`deploy/dagster.yaml` for PostgreSQL storage), a config file, our database, and the daemon
and webserver started on them, each in a session (process group) of its own so that its code
server and run workers are stopped with it. The pipeline clock is a file (`DGAS_CLOCK_FILE`)
the site steps; the processes inherit the setting, so the sensor and every run read the same
stepped instant while Dagster itself keeps the real clock.

Waiting is bounded: every wait has a deadline and fails with the tail of the processes' logs,
and fails early when a process died. Stopping is SIGTERM, a grace period, then SIGKILL of the
whole group, so nothing outlives a test.

Used by dgas_pipeline_tests/daemon/, automation/test_daemon.py, bench/soak.py and
bench/launch_lag.py; other test packages may import it too (stable API: `Site`, `open_site`,
`ManagedProcess`, `rss_mb`, `child_pids`, `free_port`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import yaml
from dagster._core.scheduler.instigation import InstigatorType

from dgas_pipeline.clock import CLOCK_FILE_ENV, read_clock_file, write_clock_file

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORKSPACE = REPO / "dgas_pipeline" / "workspace.yaml"
EMBEDDED_INSTANCE = REPO / "dgas_pipeline" / "dagster.yaml"
PRODUCTION_INSTANCE = REPO / "deploy" / "dagster.yaml"
SENSOR_INTERVAL_ENV = "DGAS_SENSOR_INTERVAL_SECONDS"
SENSOR_NAME = "market_clock_sensor"
RUN_KEY_TAG = "dagster/run_key"
PARTITION_TAG = "dagster/partition"

STOP_GRACE_S = 30  # SIGTERM, then this long before SIGKILL of the group
SERVE_DEADLINE_S = 180  # a webserver loading the code location on a loaded machine
RUN_DEADLINE_S = 300  # a run's step processes on a loaded 2-core machine
POLL_S = 0.25
LOG_TAIL_CHARS = 4000


def free_port() -> int:
    """A loopback port the kernel says is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float | None:
    """Resident memory of one process (VmRSS) in MB; None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except (FileNotFoundError, ProcessLookupError):
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024  # kB
    return None


def child_pids(pid: int) -> list[int]:
    """Direct children of `pid`, from each process's parent in /proc/<pid>/stat."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="utf-8")
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            children.append(int(entry.name))
    return sorted(children)


def command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


@dataclass
class ManagedProcess:
    """One started process, its log file, and its group (its own session)."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    port: int | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, chars: int = LOG_TAIL_CHARS) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]

    def code_server_pid(self) -> int | None:
        """The gRPC code server the daemon or webserver spawned for the workspace."""
        for pid in child_pids(self.pid):
            line = command_line(pid)
            if "grpc" in line or "code-server" in line or "code_server" in line:
                return pid
        return None

    def send(self, sig: signal.Signals, group: bool = False) -> None:
        """A signal to the process alone (its code server and run workers live on), or to its
        whole group: for tests of what survives a crash."""
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(self.pid, sig)
            else:
                self.popen.send_signal(sig)

    def stop(self, grace_s: float = STOP_GRACE_S) -> int | None:
        """SIGTERM, wait up to `grace_s`, then SIGKILL the whole group; the exit code."""
        code = self.popen.poll()
        if code is None:
            self.popen.terminate()
            try:
                code = self.popen.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                code = self.popen.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)  # whatever it left behind in its group
        return code


@dataclass
class Site:
    """A deployment on disk and the processes serving it (see the module docstring)."""

    root: Path
    home: Path
    config_path: Path
    clock_path: Path
    env: dict[str, str]
    processes: dict[str, ManagedProcess] = field(default_factory=dict)
    _instance: dg.DagsterInstance | None = field(default=None, repr=False)

    @property
    def database_url(self) -> str:
        """Where the processes keep our tables (`DGAS_DATABASE_URL`, else `dgas.db` in the
        home, as `dgas_pipeline.store.engine` decides)."""
        return self.env.get("DGAS_DATABASE_URL") or f"sqlite:///{self.home / 'dgas.db'}"

    # -- the pipeline clock --------------------------------------------------------------------

    def set_clock(self, at: datetime) -> float:
        """Step the pipeline clock to `at`; the real `time.time()` when it took effect."""
        write_clock_file(self.clock_path, at)
        return time.time()

    def clock(self) -> datetime:
        return read_clock_file(self.clock_path)

    # -- processes -----------------------------------------------------------------------------

    def start(self, name: str, argv: list[str], port: int | None = None) -> ManagedProcess:
        if name in self.processes and self.processes[name].alive:
            raise RuntimeError(f"{name} is already running (pid {self.processes[name].pid})")
        log_path = self.root / f"{name}.log"
        with log_path.open("ab") as log:
            popen = subprocess.Popen(
                argv,
                cwd=self.root,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its code server and run workers share its group
            )
        process = ManagedProcess(name, popen, log_path, port)
        self.processes[name] = process
        return process

    def start_daemon(self) -> ManagedProcess:
        return self.start("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(WORKSPACE)])

    def start_webserver(self, wait: bool = True) -> ManagedProcess:
        port = free_port()
        argv = [str(BIN / "dagster-webserver"), "-w", str(WORKSPACE)]
        process = self.start("webserver", [*argv, "-h", "127.0.0.1", "-p", str(port)], port)
        if wait:
            self.wait_until_served()
        return process

    def stop(self, name: str) -> int | None:
        return self.processes[name].stop()

    def stop_all(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()

    def logs(self, chars: int = LOG_TAIL_CHARS) -> str:
        """The end of each process's log, for assertion messages."""
        return "\n".join(
            f"--- {name} (pid {p.pid}, {'alive' if p.alive else f'exit {p.popen.returncode}'}) ---"
            f"\n{p.log_tail(chars)}"
            for name, p in self.processes.items()
        )

    def assert_alive(self, *names: str) -> None:
        for name in names or tuple(self.processes):
            process = self.processes[name]
            assert process.alive, f"{name} exited ({process.popen.returncode})\n{self.logs()}"

    def rss(self) -> dict[str, float | None]:
        """MB resident of the daemon and of the code server it spawned."""
        daemon = self.processes["daemon"]
        code_server = daemon.code_server_pid()
        return {
            "daemon": rss_mb(daemon.pid),
            "code_server": rss_mb(code_server) if code_server else None,
        }

    # -- webserver -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.processes['webserver'].port}"

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        """One query against the webserver's GraphQL endpoint; its `data`."""
        response = httpx.post(
            f"{self.base_url}/graphql", json={"query": query, "variables": variables}, timeout=60
        )
        response.raise_for_status()
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def wait_until_served(self, deadline_s: float = SERVE_DEADLINE_S) -> None:
        """The webserver answers and its code location loaded (not an error)."""
        wait_until_location_loaded(
            self.graphql, lambda: self.assert_alive("webserver"), self.logs, deadline_s
        )

    # -- Dagster's records, read from this process ---------------------------------------------

    @property
    def instance(self) -> dg.DagsterInstance:
        """The site's instance (its yaml's `env:` settings resolved from the site's env)."""
        if self._instance is None:
            with _environ({k: v for k, v in self.env.items() if k.startswith("DAGSTER_")}):
                self._instance = dg.DagsterInstance.from_config(str(self.home))
        return self._instance

    def runs(self, **tags: str) -> list[dg.DagsterRun]:
        """Runs carrying these tags (`run_key=...`, `partition=...` for Dagster's own), oldest
        first."""
        named = {
            RUN_KEY_TAG if k == "run_key" else PARTITION_TAG if k == "partition" else k: v
            for k, v in tags.items()
        }
        runs = self.instance.get_runs(filters=dg.RunsFilter(tags=named) if named else None)
        return list(reversed(runs))

    def wait_for(
        self,
        check: Callable[[], Any],
        what: str,
        deadline_s: float = RUN_DEADLINE_S,
        poll_s: float = POLL_S,
        alive: tuple[str, ...] = ("daemon",),
    ) -> Any:
        """Poll `check` until it returns something truthy; fail with the logs past the deadline
        or as soon as one of the `alive` processes exited."""
        deadline = time.monotonic() + deadline_s
        while True:
            for name in alive:
                if name in self.processes:
                    self.assert_alive(name)
            result = check()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise AssertionError(f"not within {deadline_s}s: {what}\n{self.logs()}")
            time.sleep(poll_s)

    def wait_for_run(
        self, finished: bool = True, deadline_s: float = RUN_DEADLINE_S, **tags: str
    ) -> dg.DagsterRun:
        """The one run with these tags (see `runs`), once created (and finished)."""

        def ready() -> dg.DagsterRun | None:
            runs = self.runs(**tags)
            assert len(runs) <= 1, f"{len(runs)} runs for {tags}: {[r.run_id for r in runs]}"
            if runs and (runs[0].is_finished or not finished):
                return runs[0]
            return None

        state = "finished" if finished else "created"
        return self.wait_for(ready, f"one run {state} for {tags}", deadline_s)

    def sensor_cursor(self, name: str = SENSOR_NAME) -> str | None:
        """The cursor the sensor's last completed tick left (our sensor: the clock it read)."""
        for state in self.instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
            if state.name == name:
                data = state.instigator_data
                return getattr(data, "cursor", None)
        return None

    def wait_for_tick_at(
        self, at: datetime, deadline_s: float = RUN_DEADLINE_S, name: str = SENSOR_NAME
    ) -> None:
        """Until a tick of the sensor has evaluated with the pipeline clock at `at` (its cursor
        is the instant it read), so everything due by `at` has been requested."""

        def ticked() -> bool:
            cursor = self.sensor_cursor(name)
            return cursor is not None and datetime.fromisoformat(cursor) == at

        self.wait_for(
            ticked,
            f"a {name} tick at {at.isoformat()} (cursor now {self.sensor_cursor(name)!r})",
            deadline_s,
        )

    def wait_until_idle(self, deadline_s: float = RUN_DEADLINE_S) -> list[dg.DagsterRun]:
        """Every run finished (none queued, starting or started); all runs."""

        def idle() -> list[dg.DagsterRun] | None:
            runs = self.runs()
            return runs if all(r.is_finished for r in runs) else None

        return self.wait_for(idle, "every run finished", deadline_s)

    def close(self) -> None:
        self.stop_all()
        if self._instance is not None:
            self._instance.dispose()
            self._instance = None


@contextlib.contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def open_site(
    root: Path,
    at: datetime,
    *,
    config: Mapping[str, Any] | None = None,
    database_url: str | None = None,
    instance_yaml: Path = EMBEDDED_INSTANCE,
    sensor_interval_s: int | None = 1,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[Site]:
    """A site under `root` with its pipeline clock at `at`; its processes stopped at the end.

    `sensor_interval_s` None keeps the sensor's production minimum interval. Nothing is
    started: call `start_daemon` / `start_webserver`. The instance's storage is
    created here, before any process uses it (concurrent first use races on it). Without
    `database_url` our tables go to `dgas.db` in DAGSTER_HOME (the default of `dgas`).
    """
    root = root.resolve()
    home = root / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(instance_yaml, home / "dagster.yaml")
    config_path = root / "dgas.yaml"
    config_path.write_text(yaml.safe_dump(dict(config or {})), encoding="utf-8")
    clock_path = root / "clock"
    write_clock_file(clock_path, at)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DGAS_", "DAGSTER_"))}
    env |= {
        "DAGSTER_HOME": str(home),
        "DGAS_CONFIG": str(config_path),
        CLOCK_FILE_ENV: str(clock_path),
    }
    if sensor_interval_s is not None:  # None: the production default
        env[SENSOR_INTERVAL_ENV] = str(sensor_interval_s)
    if database_url is not None:
        env["DGAS_DATABASE_URL"] = database_url
    env |= dict(extra_env or {})
    site = Site(root, home, config_path, clock_path, env)
    try:
        site.instance.get_runs(limit=1)  # creates and migrates the storage
        yield site
    finally:
        site.close()


def wait_until_location_loaded(
    graphql: Callable[[str], dict[str, Any]],
    assert_alive: Callable[[], None],
    logs: Callable[[], str],
    deadline_s: float,
) -> None:
    """Poll a webserver's GraphQL until its one code location is LOADED (a load error fails)."""
    deadline = time.monotonic() + deadline_s
    last_error = ""
    while time.monotonic() < deadline:
        assert_alive()
        try:
            data = graphql(
                """{ workspaceOrError { ... on Workspace { locationEntries {
                      name loadStatus
                      locationOrLoadError { __typename ... on PythonError { message } }
                } } } }"""
            )
        except (httpx.HTTPError, AssertionError) as err:
            last_error = str(err)
        else:
            (entry,) = data["workspaceOrError"]["locationEntries"]
            loaded = entry["locationOrLoadError"]
            assert loaded is None or loaded["__typename"] != "PythonError", loaded
            if entry["loadStatus"] == "LOADED" and loaded is not None:
                return
        time.sleep(0.5)
    raise AssertionError(f"webserver not ready in {deadline_s}s: {last_error}\n{logs()}")
