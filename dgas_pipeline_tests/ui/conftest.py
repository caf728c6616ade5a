"""Fixtures of the UI test: a real deployment with some history, and a headless Chromium.

The deployment is what an operator runs (README, "Open the UI"): `dagster-webserver` and
`dagster-daemon` as processes on one DAGSTER_HOME (Dagster's SQLite storage, our tables in
`dgas.db` there), the package's `workspace.yaml` and `dagster.yaml`. Before they start, the CLI
leaves history the way an operator would: `dgas backfill --wait` of one session (a range run
and its EOD) and `dgas run-once` of one bar.

Dagster lists only partitions whose window has ended, on the real clock, so the config starts
the partitions on 2025-11-24: Thanksgiving 2025 and the early close after it are always in
the past. The daemon's sensor reads the pipeline clock, which `DGAS_CLOCK_OFFSET_SECONDS`
puts at noon on Thanksgiving 2026, so its ticks skip with the holiday's reason.

The browser is Debian's Chromium (`/usr/bin/chromium`; Playwright cannot download one here),
in a fresh profile, with the flags that keep it off the (closed) network. Without it the
tests skip on a laptop and fail in CI (`CI=true`), where `.ci/run` installs it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml
from PIL import Image
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from dgas_pipeline_tests.processes import wait_until_location_loaded

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ET = ZoneInfo("America/New_York")
CHROMIUM = Path(os.environ.get("DGAS_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
BROWSER_TIMEOUT_MS = 30_000
# The README's screenshots are refreshed with DGAS_UI_SCREENSHOTS=docs/screenshots; by default
# a run leaves the work tree as it found it.
SCREENSHOTS = Path(
    os.environ.get("DGAS_UI_SCREENSHOTS") or Path(tempfile.gettempdir()) / "dgas-ui-screenshots"
)

PARTITIONS_START = date(2025, 11, 24)
HISTORY_SESSION = date(2026, 11, 20)  # backfilled by the CLI: one range run + its EOD
HISTORY_RUN_ONCE_AT = "2026-11-24T10:05:00-05:00"  # the 09:30 bar of 2026-11-24
SENSOR_CLOCK = datetime(2026, 11, 26, 12, 0, tzinfo=ET)  # Thanksgiving, noon ET
SENSOR_INTERVAL_S = 5
START_DEADLINE_S = 120
CLI_TIMEOUT_S = 120


@dataclass
class Deployment:
    """The running webserver and daemon, their home, and ways to look inside."""

    home: Path
    config_path: Path
    base_url: str
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def db_path(self) -> Path:
        return self.home / "dgas.db"

    def log(self, name: str) -> Path:
        return self.home.parent / f"{name}.log"

    def logs(self, chars: int = 3000) -> str:
        """The end of each process's log, for assertion messages."""
        parts = []
        for name in self.processes:
            text = self.log(name).read_text(errors="replace") if self.log(name).exists() else ""
            parts.append(f"--- {name} ---\n{text[-chars:]}")
        return "\n".join(parts)

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        """One query against the webserver's GraphQL endpoint; its `data`."""
        response = httpx.post(
            f"{self.base_url}/graphql",
            json={"query": query, "variables": variables},
            timeout=60,
        )
        response.raise_for_status()
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def assert_alive(self) -> None:
        for name, process in self.processes.items():
            assert process.poll() is None, f"{name} exited ({process.returncode})\n{self.logs()}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dgas(env: dict[str, str], cwd: Path, *argv: str, returncode: int = 0) -> Any:
    """`dgas argv --json` as its own process, exiting with `returncode` (1: a run failed); the
    parsed JSON document."""
    done = subprocess.run(
        [str(BIN / "dgas"), *argv, "--json"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == returncode, (
        f"dgas {' '.join(argv)}: {done.returncode}\n{done.stderr[-3000:]}"
    )
    return json.loads(done.stdout)


def _start(deployment: Deployment, name: str, argv: list[str], env: dict[str, str]) -> None:
    with deployment.log(name).open("wb") as log:
        deployment.processes[name] = subprocess.Popen(
            argv,
            cwd=deployment.home.parent,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its code server and run workers share its group
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # whatever it left behind in its group


def _wait_until_served(deployment: Deployment) -> None:
    """The webserver answers and its code location loaded (not an error)."""
    wait_until_location_loaded(
        deployment.graphql, deployment.assert_alive, deployment.logs, START_DEADLINE_S
    )


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium; skip without it, except in CI."""
    if not os.access(CHROMIUM, os.X_OK):
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium; DGAS_TEST_CHROMIUM)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="module")
def deployment(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """History by the CLI, then the webserver and the daemon on it, until the module ends."""
    root = tmp_path_factory.mktemp("ui").resolve()
    home = root / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO / "dgas_pipeline" / "dagster.yaml", home / "dagster.yaml")
    config_path = root / "dgas.yaml"
    config_path.write_text(
        yaml.safe_dump({"partitions_start": PARTITIONS_START.isoformat()}), encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DGAS_", "DAGSTER_"))}
    env |= {"DAGSTER_HOME": str(home), "DGAS_CONFIG": str(config_path)}
    port = _free_port()
    deployment = Deployment(home, config_path, f"http://127.0.0.1:{port}", env)

    day = HISTORY_SESSION.isoformat()
    dgas(env, root, "backfill", "--start", day, "--end", day, "--wait")
    dgas(env, root, "run-once", "--at", HISTORY_RUN_ONCE_AT)

    served_env = env | {
        "DGAS_SENSOR_INTERVAL_SECONDS": str(SENSOR_INTERVAL_S),
        "DGAS_CLOCK_OFFSET_SECONDS": str(SENSOR_CLOCK.timestamp() - time.time()),
    }
    workspace = str(REPO / "dgas_pipeline" / "workspace.yaml")
    try:
        _start(
            deployment,
            "webserver",
            [str(BIN / "dagster-webserver"), "-w", workspace, "-h", "127.0.0.1", "-p", str(port)],
            served_env,
        )
        _start(
            deployment, "daemon", [str(BIN / "dagster-daemon"), "run", "-w", workspace], served_env
        )
        _wait_until_served(deployment)
        # The "join the community" dialog would cover the first page of a fresh instance.
        deployment.graphql("mutation { setNuxSeen }")
        yield deployment
    finally:
        for process in deployment.processes.values():
            _stop(process)


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[BrowserContext]:
    """Headless Chromium in a fresh profile, on New York time (as the UI shows bars)."""
    profile = tempfile.mkdtemp(prefix="dgas-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=str(chromium),
                headless=True,
                args=CHROMIUM_ARGS,
                viewport=VIEWPORT,
                timezone_id="America/New_York",
                locale="en-US",
            )
            context.set_default_timeout(BROWSER_TIMEOUT_MS)
            # Assertions wait as long as actions: on a loaded machine the UI can take longer
            # than expect()'s 5 s default to load the code location.
            expect.set_options(timeout=BROWSER_TIMEOUT_MS)
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    page = browser.new_page()
    try:
        yield page
    finally:
        page.close()


def screenshot(page: Page, name: str) -> Path:
    """Save the viewport as docs/screenshots/<name>.png, in 256 colours (small, sharp text)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    image = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path
