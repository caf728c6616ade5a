"""`dgas ui` as the first command in a fresh directory: the UI serves the packaged instance.

No DAGSTER_HOME exists before it (nothing else ran), and no `dagster.yaml` lies in the working
directory: the webserver must still answer on loopback with the run queue of the packaged
dagster.yaml, and its daemon must run. Bad input is refused before anything is created.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from dgas_pipeline.clock import CLOCK_FILE_ENV, write_clock_file
from dgas_pipeline_tests.processes import (
    SERVE_DEADLINE_S,
    ManagedProcess,
    free_port,
    wait_until_location_loaded,
)

REPO = Path(__file__).resolve().parents[1]
DGAS = Path(sys.executable).with_name("dgas")
# A Saturday: the daemon's sensor has nothing to launch while the test looks.
CLOCK = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)

pytestmark = pytest.mark.slow


def fresh_env(root: Path) -> dict[str, str]:
    """The shell of a new user: no DAGSTER_HOME, no DGAS_* setting; the clock on a Saturday."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DGAS_", "DAGSTER_"))}
    write_clock_file(root / "clock", CLOCK)
    env[CLOCK_FILE_ENV] = str(root / "clock")
    return env


@dataclass
class Served:
    process: ManagedProcess
    home: Path

    def graphql(self, query: str) -> dict[str, Any]:
        response = httpx.post(
            f"http://127.0.0.1:{self.process.port}/graphql", json={"query": query}, timeout=60
        )
        response.raise_for_status()
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def assert_alive(self) -> None:
        assert self.process.alive, f"dgas ui exited\n{self.process.log_tail()}"


def test_the_readme_opens_the_ui_with_this_command() -> None:
    """The README's "Open the UI" command is the one the tests below start."""
    section = (REPO / "README.md").read_text(encoding="utf-8").split("**Open the UI**")[1]
    command = section.split("```bash\n")[1].split("```")[0].strip()
    assert command == ".venv/bin/dgas ui"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`dgas ui` started in an empty directory, serving until the module ends."""
    base = tmp_path_factory.mktemp("ui").resolve()
    root = base / "fresh"
    root.mkdir()
    port = free_port()
    log_path = base / "ui.log"
    with log_path.open("ab") as log:
        popen = subprocess.Popen(
            [str(DGAS), "ui", "--port", str(port)],
            cwd=root,
            env=fresh_env(base),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its webserver, daemon and code server share its group
        )
    served = Served(ManagedProcess("ui", popen, log_path, port), root / ".dagster_home")
    try:
        wait_until_location_loaded(
            served.graphql, served.assert_alive, served.process.log_tail, SERVE_DEADLINE_S
        )
        yield served
    finally:
        served.process.stop()


def test_ui_runs_on_the_packaged_instance_in_the_default_home(served: Served) -> None:
    packaged = (REPO / "dgas_pipeline" / "dagster.yaml").read_bytes()
    assert (served.home / "dagster.yaml").read_bytes() == packaged
    # Not Dagster's temporary instance (`.tmp_dagster_home_*`, deleted on exit).
    assert sorted(p.name for p in served.home.parent.iterdir()) == [".dagster_home"]

    data = served.graphql(
        "{ instance { runQueuingSupported"
        " runQueueConfig { maxConcurrentRuns tagConcurrencyLimitsYaml } } }"
    )["instance"]
    coordinator = yaml.safe_load(packaged)["run_coordinator"]["config"]
    assert data["runQueuingSupported"] is True
    assert data["runQueueConfig"]["maxConcurrentRuns"] == coordinator["max_concurrent_runs"] == 4
    limits = yaml.safe_load(data["runQueueConfig"]["tagConcurrencyLimitsYaml"])
    assert limits == [{"key": "dgas/concurrency", "value": "pipeline", "limit": 1}]


def test_ui_runs_the_daemon_with_the_sensor(served: Served) -> None:
    """The daemon of `dagster dev` heartbeats on the same instance (run monitoring included)."""
    query = """{ instance { daemonHealth {
        sensor: daemonStatus(daemonType: "SENSOR") { healthy }
        monitoring: daemonStatus(daemonType: "MONITORING") { healthy }
    } } }"""
    deadline = time.monotonic() + SERVE_DEADLINE_S
    while True:
        health = served.graphql(query)["instance"]["daemonHealth"]
        if health["sensor"]["healthy"] and health["monitoring"]["healthy"]:
            break
        served.assert_alive()
        assert time.monotonic() < deadline, f"{health}\n{served.process.log_tail()}"
        time.sleep(1)
    sensors = served.graphql(
        """{ sensorsOrError(repositorySelector: {repositoryName: "__repository__",
              repositoryLocationName: "dgas_pipeline"}) {
              ... on Sensors { results { name } } } }"""
    )
    assert "market_clock_sensor" in {s["name"] for s in sensors["sensorsOrError"]["results"]}


@pytest.mark.parametrize(
    ("argv", "files", "field"),
    [
        pytest.param(["--port", "0"], {}, "--port", id="port-zero"),
        pytest.param(["--port", "http"], {}, "--port", id="port-not-a-number"),
        pytest.param([], {"dgas.yaml": "interval: 7min\n"}, "interval", id="bad-config"),
    ],
)
def test_bad_input_is_refused_before_anything_is_created(
    tmp_path: Path, argv: list[str], files: dict[str, str], field: str
) -> None:
    root = tmp_path / "fresh"
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    done = subprocess.run(
        [str(DGAS), "ui", *argv],
        cwd=root,
        env=fresh_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"dgas: {field}"), done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in root.iterdir()) == sorted(files)  # no .dagster_home
