"""One prediction cycle through the Celery executor, its steps run by a real Celery worker.

The worker is what deploy/celery/dgas-celery-worker.service starts (`celery -A
dgas_pipeline.defs.runtime.celery_worker worker`), in a session of its own, reading the same config
file as the run; it is stopped after the test whatever happened. The run executes the way a
daemon- or UI-launched run does (`execute_job` of the code location's job, with the executor
the config chose): this process orchestrates, the worker runs every step. Our tables are on
PostgreSQL, as a deployment whose workers sit on other machines needs them.

Each test has a queue of its own (on Redis also a DB number kept for these tests), so parallel
or stale runs never take each other's steps; what a test leaves on the broker is deleted.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import redis
import yaml
from dagster._core.definitions.reconstruct import ReconstructableRepository
from kombu import Connection

from dgas_pipeline.dagster_home import ensure_dagster_home
from dgas_pipeline.store import tables
from dgas_pipeline_tests.defs.conftest import (
    busiest_bar,
    forget_code_location,
    isolate,
    reload_code_location,
    session_signals,  # noqa: F401  (the fixture, used by name)
)

REDIS_URL_ENV = "DGAS_TEST_REDIS_URL"
REDIS_DEFAULT_URL = "redis://127.0.0.1:6379/13"  # DB 13: kept for these tests
AMQP_URL_ENV = "DGAS_TEST_AMQP_URL"
AMQP_DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672//"
BROKER_URL_ENV = "DGAS_TEST_CELERY_BROKER_URL"  # what the RabbitMQ config names
CELERY = Path(sys.executable).parent / "celery"
WORKER_APP = "dgas_pipeline.defs.runtime.celery_worker"
CYCLE_STEPS = {"bars", "indicators", "signals", "notifications", "alerts"}
CONNECT_TIMEOUT_S = 3
READY_DEADLINE_S = 120  # a worker importing Dagster on a loaded 2-core machine
STOP_GRACE_S = 20
LOG_TAIL_CHARS = 4000


@dataclass(frozen=True)
class Broker:
    """A local broker and the `executor.celery` section that uses it."""

    name: str
    url: str

    def executor_section(self, queue: str) -> dict[str, Any]:
        if self.name == "redis":
            # No password on the local Redis: the URL goes in the file; Redis keeps results.
            celery = {"broker_url": self.url, "backend_url": self.url, "queue": queue}
        else:
            # The RabbitMQ URL carries a password: the file names the variable holding it,
            # and results come back through the broker (rpc://, the default).
            celery = {"broker_url_env": BROKER_URL_ENV, "queue": queue}
        return {"kind": "celery", "celery": celery}

    def delete_queue(self, queue: str, node: str) -> None:
        """What the test left on the broker: its queue and, on Redis, its task results."""
        if self.name == "redis":
            client = redis.Redis.from_url(self.url, socket_timeout=CONNECT_TIMEOUT_S)
            try:
                keys = [queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"]
                keys += [
                    k for k in client.scan_iter("celery-task-meta-*") if _ran_on(client, k, node)
                ]
                client.delete(*keys)
            finally:
                client.close()
            return
        with Connection(self.url, connect_timeout=CONNECT_TIMEOUT_S) as conn:
            conn.default_channel.queue_delete(queue)
            conn.default_channel.exchange_delete(queue)


def _ran_on(client: redis.Redis, key: bytes, node: str) -> bool:
    value = client.get(key)
    return value is not None and node.encode() in value


BROKERS = {
    "redis": (REDIS_URL_ENV, REDIS_DEFAULT_URL),
    "rabbitmq": (AMQP_URL_ENV, AMQP_DEFAULT_URL),
}


@pytest.fixture(params=sorted(BROKERS))
def broker(request: pytest.FixtureRequest) -> Broker:
    """The local Redis, then the local RabbitMQ; skipped when absent, a failure in CI."""
    env, default = BROKERS[request.param]
    url = os.environ.get(env, default)
    try:
        with Connection(url, connect_timeout=CONNECT_TIMEOUT_S) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as err:
        message = f"{request.param} not reachable ({env}): {type(err).__name__}: {err}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return Broker(request.param, url)


@dataclass
class Worker:
    """A Celery worker process and its log; `stop` ends its whole process group."""

    process: subprocess.Popen[bytes]
    node: str
    log: Path

    def tail(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-LOG_TAIL_CHARS:]

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_DEADLINE_S
        while time.monotonic() < deadline:
            text = self.log.read_text(encoding="utf-8", errors="replace")
            if f"{self.node}@" in text and " ready." in text:
                return
            if self.process.poll() is not None:
                pytest.fail(f"worker exited with {self.process.returncode}:\n{self.tail()}")
            time.sleep(0.25)
        pytest.fail(f"worker not ready after {READY_DEADLINE_S}s:\n{self.tail()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # Celery's warm shutdown
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(STOP_GRACE_S)
        # Pool processes are in the worker's group; none may outlive the test.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[[], Worker]]:
    """`start()`: a worker on the current environment's config; stopped at teardown."""
    started: list[Worker] = []

    def start() -> Worker:
        node = f"dgas-test-{uuid.uuid4().hex[:12]}"
        log = tmp_path / f"{node}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    str(CELERY),
                    "-A",
                    WORKER_APP,
                    "worker",
                    "--hostname",
                    f"{node}@%h",
                    "--concurrency",
                    "1",
                    "--prefetch-multiplier",
                    "1",
                    "--loglevel",
                    "INFO",
                    "--without-gossip",
                    "--without-mingle",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = Worker(process, node, log)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def fresh_code_location() -> Iterator[None]:
    """No cached location of an earlier test, none left for a later one: the definitions
    are built from this test's config file, as the worker builds them."""
    forget_code_location()
    yield
    forget_code_location()


def failures(events: list[dg.DagsterEvent]) -> str:
    """What went wrong in a run, from its failure and engine-error events."""
    lines = []
    for event in events:
        error = getattr(event.event_specific_data, "error", None)
        if event.is_failure or error is not None:
            lines.append(f"{event.event_type_value} {event.step_key}: {event.message}")
            if error is not None:
                lines.append(error.to_string())
    return "\n".join(lines)


def parent_pid(pid: int) -> int:
    """The parent of a live process (field 4 of /proc/<pid>/stat, after the command name)."""
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    return int(stat.rsplit(")", 1)[1].split()[1])


@pytest.mark.timeout(300)  # a step no worker takes would otherwise wait forever
def test_a_cycle_runs_its_steps_in_a_celery_worker_and_is_stored_and_mirrored(
    fresh_code_location: None,
    broker: Broker,
    start_worker: Callable[[], Worker],
    session_signals: pd.DataFrame,  # noqa: F811  (the fixture imported above)
    pg_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queue = f"dgas-test-{uuid.uuid4().hex}"
    isolate(tmp_path, monkeypatch)
    monkeypatch.setenv("DGAS_DATABASE_URL", pg_url)
    monkeypatch.setenv(BROKER_URL_ENV, broker.url)
    config = tmp_path / "dgas.yaml"
    config.write_text(yaml.safe_dump({"executor": broker.executor_section(queue)}))
    monkeypatch.setenv("DGAS_CONFIG", str(config))
    bar = busiest_bar(session_signals)
    expected = session_signals[session_signals["partition_key"] == bar.key]
    worker = start_worker()
    try:
        defs = reload_code_location()
        assert defs.resolve_job_def("prediction_cycle").executor_def.name == "celery"
        worker.wait_ready()
        ensure_dagster_home()
        # A pointer of its own (Dagster caches the definitions loaded per pointer in-process).
        job = ReconstructableRepository.for_module(
            "dgas_pipeline.definitions", "defs", working_directory=str(tmp_path)
        ).get_reconstructable_job("prediction_cycle")
        started = time.monotonic()
        with dg.DagsterInstance.get() as instance:
            result = dg.execute_job(
                job,
                instance,
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
                tags={"dagster/partition": bar.key},
                raise_on_error=False,
            )
            elapsed = time.monotonic() - started
            run = instance.get_run_by_id(result.run_id)
            events = result.all_events
            step_pids = {e.step_key: e.pid for e in events if e.event_type_value == "STEP_START"}
            # The pids must be read while the worker's pool process still lives.
            parents = {pid: parent_pid(pid) for pid in set(step_pids.values()) if pid}
        assert result.success, f"{failures(events)}\n--- worker log ---\n{worker.tail()}"
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS

        # Every step ran in the worker's pool process, none in this one.
        assert set(step_pids) >= CYCLE_STEPS, step_pids
        assert os.getpid() not in step_pids.values()
        assert set(parents.values()) == {worker.process.pid}, (step_pids, parents)
        in_worker = [
            e
            for e in events
            if e.event_type_value == "ENGINE_EVENT" and "in celery worker" in (e.message or "")
        ]
        assert {e.step_key for e in in_worker} >= CYCLE_STEPS
        names = {e.event_specific_data.metadata["Celery worker"].value for e in in_worker}
        assert len(names) == 1 and names.pop().startswith(f"{worker.node}@"), names
        submitted = [e.message for e in events if "Submitting celery task" in (e.message or "")]
        assert submitted and all(f'to queue "{queue}"' in m for m in submitted)
        log = worker.log.read_text(encoding="utf-8", errors="replace")
        assert log.count("succeeded in") >= len(CYCLE_STEPS), worker.tail()

        # Stored and mirrored by the steps, from the worker.
        engine = defs.resources["database"].engine()
        with engine.connect() as conn:
            (row,) = [dict(r) for r in conn.execute(tables.prediction_runs.select()).mappings()]
            stored = [dict(r) for r in conn.execute(tables.generated_signals.select()).mappings()]
        assert row["dagster_run_id"] == result.run_id
        assert (row["status"], row["kind"], row["partition_key"]) == ("SUCCESS", "cycle", bar.key)
        assert row["launched_by"] == "ui"  # no launcher tag: how a UI-launched run looks
        assert len(stored) == len(expected) > 0
        assert row["signals_generated"] == len(expected)
        assert sorted((s["symbol"], s["signal_type"]) for s in stored) == sorted(
            zip(expected["symbol"], expected["signal_type"], strict=True)
        )
        assert "guest:guest" not in log  # the broker's password is never printed
        print(f"{broker.name}: cycle through Celery in {elapsed:.1f}s")
    finally:
        worker.stop()
        broker.delete_queue(queue, worker.node)
