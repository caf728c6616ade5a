"""A deterministic place to SIGKILL a run: right after it claimed its first channel's batch of
notifications (the PENDING rows are committed) and before it sends it.

Any Python process started with `environment(...)` loads this module from a
`sitecustomize.py` (so a `dgas run-once`, and also a run worker the daemon's code server
spawns, without knowing about tests). While `DGAS_TEST_KILLPOINT_DIR` holds a file `armed`,
the first process to reach the point takes it (an atomic rename to `paused-<pid>`, so exactly
one process stops) and sleeps until it is killed; every later run goes on untouched. The test
reads the pid from the file name: the run's worker, whoever started it.

This module is imported by every Python process of the test (daemon, code server, webserver):
it imports nothing heavy and patches `dgas_pipeline.notify.delivery` only once something else
imports it.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

DIR_ENV = "DGAS_TEST_KILLPOINT_DIR"
TARGET = "dgas_pipeline.notify.delivery"
ARMED = "armed"
PAUSED_PREFIX = "paused-"


def environment(root: Path, repo: Path) -> dict[str, str]:
    """Environment entries that load the kill point into every Python process, armed once."""
    site = root / "killpoint_site"
    site.mkdir(parents=True, exist_ok=True)
    (site / "sitecustomize.py").write_text(
        f"from {__name__} import install\ninstall()\n", encoding="utf-8"
    )
    directory = root / "killpoint"
    directory.mkdir(exist_ok=True)
    (directory / ARMED).touch()
    return {"PYTHONPATH": f"{site}{os.pathsep}{repo}", DIR_ENV: str(directory)}


def paused_pid(directory: Path) -> int | None:
    """The pid of the process stopped at the point, once one is."""
    for entry in directory.iterdir():
        if entry.name.startswith(PAUSED_PREFIX):
            return int(entry.name.removeprefix(PAUSED_PREFIX))
    return None


def install() -> None:
    if os.environ.get(DIR_ENV) and not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


def _stop_here_once() -> None:
    directory = Path(os.environ[DIR_ENV])
    try:
        (directory / ARMED).rename(directory / f"{PAUSED_PREFIX}{os.getpid()}")
    except FileNotFoundError:
        return  # taken by an earlier run: this one goes on
    while True:
        time.sleep(1)


def _patch(module: ModuleType) -> None:
    real = module._send_with_retries

    def send_after_the_kill_point(*args: Any, **kwargs: Any) -> Any:
        _stop_here_once()
        return real(*args, **kwargs)

    module._send_with_retries = send_after_the_kill_point


class _Finder(importlib.abc.MetaPathFinder):
    """Finds the target module as usual and patches it right after it is executed."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != TARGET:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _PatchingLoader(spec.loader)
        return spec


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        _patch(module)
