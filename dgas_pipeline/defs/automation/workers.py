"""Which process runs a run, and whether it still lives: dead-worker detection.

A run whose worker is SIGKILLed (OOM killer, `kill -9`, a crashed host process) never
writes its end. Dagster's `DefaultRunLauncher` cannot check a worker's health, and a
`dgas run-once` run has no launcher at all, so such a run would stay STARTED until
`dagster/max_runtime`. Each run of our jobs therefore records its worker as a run tag when
its resources come up (`record_worker`); `find_dead_workers` finds the STARTED runs whose
worker is on this host and gone, and `report_failed` fails them in Dagster.

The identity is a tag, not a column of `prediction_runs`: it belongs to Dagster's run (a
retry is another run, with another worker), the UI shows it beside the run, and the check
needs nothing but Dagster's own records. It is pid, host, boot id and the process's start
time (/proc/<pid>/stat field 22, clock ticks since boot): a pid the kernel handed to
another process later is not mistaken for the worker, nor a pid from before a reboot.

The worker is the process that runs the run, not necessarily the one initialising the
resources: with the multiprocess executor each step has a process of its own, which ends
after its step while the run goes on. So a launched run's worker is the pid Dagster's run
worker logs as it starts ("Started process for run (pid: N)"), recorded from whichever
process of the run finds it is that pid or one of its descendants; a run executed in the
process that created it (`dgas run-once`, `dgas backfill --wait`: `execute_in_process`,
always in-process) is that process. A step of a Celery worker records nothing, nor does a
run whose worker is on another host: those are left to run monitoring (`dagster/max_runtime`).
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import dagster as dg

from dgas_pipeline.defs.names import WORKER_TAG

_PROC = Path("/proc")
_BOOT_ID = _PROC / "sys" / "kernel" / "random" / "boot_id"
# A zombie (killed, not yet reaped by its parent) or a dying process holds its pid and start
# time but runs nothing: dead for our purpose.
_DEAD_STATES = frozenset("ZXx")
# What Dagster's run worker logs first (dagster/_grpc/impl.py, dagster/_cli/api.py).
_STARTED_PROCESS = "Started process for run (pid: "
_MAX_DEPTH = 64

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerIdentity:
    """The process executing one run, as recorded on that run."""

    run_id: str
    host: str
    boot_id: str
    pid: int
    start_ticks: int

    def to_tag(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_tag(cls, value: str) -> WorkerIdentity | None:
        """The identity in a tag; None for a tag this code did not write (nothing to check)."""
        try:
            data = json.loads(value)
            worker = cls(
                run_id=str(data["run_id"]),
                host=str(data["host"]),
                boot_id=str(data["boot_id"]),
                pid=int(data["pid"]),
                start_ticks=int(data["start_ticks"]),
            )
        except (ValueError, TypeError, KeyError, OverflowError, RecursionError):
            # OverflowError: a pid of 1e999 is infinity; RecursionError: deep nesting.
            return None
        # No process of ours is pid 0 or below (those name process groups to the kernel).
        return worker if worker.pid > 0 and worker.start_ticks >= 0 else None

    def describe(self) -> str:
        return f"run worker pid {self.pid} on host {self.host}"


@dataclass(frozen=True)
class DeadWorker:
    run_id: str
    worker: WorkerIdentity
    message: str


def record_worker(instance: dg.DagsterInstance, run: dg.DagsterRun) -> WorkerIdentity | None:
    """Tag the run with its worker process, when this process can see it (see the module
    docstring); the identity recorded, if any."""
    pid = worker_pid(instance, run)
    if pid is None or (pid != os.getpid() and pid not in ancestors(os.getpid())):
        return None
    worker = identity_of(run.run_id, pid)
    if worker is None:
        log.warning("no /proc here: run %s cannot be checked for a dead worker", run.run_id)
        return None
    instance.add_run_tags(run.run_id, {WORKER_TAG: worker.to_tag()})
    return worker


def worker_pid(instance: dg.DagsterInstance, run: dg.DagsterRun) -> int | None:
    """The pid of the process running `run`, as far as Dagster's records say."""
    if run.remote_job_origin is None:
        return os.getpid()  # executed where it was created: `execute_in_process`
    records = instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT, limit=50
    ).records
    for record in records:
        entry = record.event_log_entry
        event = entry.dagster_event
        if event is None or not (entry.message or "").startswith(_STARTED_PROCESS):
            continue
        data = event.engine_event_data
        pid = data.metadata.get("pid") if data is not None else None
        if pid is not None and str(pid.value).isdigit():
            return int(str(pid.value))
    return None


def identity_of(run_id: str, pid: int) -> WorkerIdentity | None:
    """Process `pid` of this host as the worker of `run_id`; None without /proc."""
    ticks = process_start_ticks(pid)
    if ticks is None:
        return None
    return WorkerIdentity(run_id, socket.gethostname(), boot_id(), pid, ticks)


def ancestors(pid: int) -> list[int]:
    """Parent, grandparent, ... of a process, up to init."""
    found: list[int] = []
    while len(found) < _MAX_DEPTH:
        stat = _stat(pid)
        if stat is None or stat[1] <= 1:
            break
        pid = stat[1]
        found.append(pid)
    return found


def find_dead_workers(
    instance: dg.DagsterInstance, is_ours: Callable[[dg.DagsterRun], bool]
) -> list[DeadWorker]:
    """STARTED runs `is_ours` accepts whose recorded worker on this host is gone."""
    records = instance.get_run_records(
        filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])
    )
    dead: list[DeadWorker] = []
    for record in records:
        run = record.dagster_run
        if not is_ours(run):
            continue
        worker = WorkerIdentity.from_tag(run.tags.get(WORKER_TAG, ""))
        # A retry carries its parent's tags until its own worker records itself.
        if worker is None or worker.run_id != run.run_id:
            continue
        gone = why_gone(worker)
        if gone is not None:
            dead.append(
                DeadWorker(run.run_id, worker, f"{worker.describe()} {gone} (no exit recorded)")
            )
    return dead


def report_failed(instance: dg.DagsterInstance, dead: DeadWorker) -> bool:
    """Fail the run in Dagster unless something recorded its end meanwhile; True if failed.

    Dagster then treats it like any failed run (run-status sensors, run retries). The run is
    read again only now that its worker is known to be gone: whatever end the worker wrote
    is stored by now, so a run still STARTED really died without one.
    """
    run = instance.get_run_by_id(dead.run_id)
    if run is None or run.status != dg.DagsterRunStatus.STARTED:
        return False
    instance.report_run_failed(run, message=dead.message)
    return True


def why_gone(worker: WorkerIdentity) -> str | None:
    """How we know the worker is gone, or None while it may be alive (or is on another host,
    where only run monitoring can tell)."""
    if worker.host != socket.gethostname():
        return None
    if worker.boot_id and worker.boot_id != boot_id():
        return "died (host rebooted)"
    stat = _stat(worker.pid)
    if stat is None:
        return "died"
    state, _, ticks = stat
    if ticks != worker.start_ticks:
        return "died (its pid now belongs to another process)"
    if state in _DEAD_STATES:
        return "died"
    return None


def process_start_ticks(pid: int) -> int | None:
    stat = _stat(pid)
    return stat[2] if stat else None


def boot_id() -> str:
    try:
        return _BOOT_ID.read_text(encoding="ascii").strip()
    except OSError:
        return ""


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time in clock ticks) of a process; None if there is none."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses. After it come field
    # 3 (state), 4 (ppid) and 22 (start time): indexes 0, 1 and 19.
    try:
        fields = stat[stat.rindex(")") + 2 :].split()
        return fields[0], int(fields[1]), int(fields[19])
    except (ValueError, IndexError):  # not a process's stat line: nothing we can read
        return None
