"""Fixtures of the real-daemon tests: the reliability tests' `figures`, the notifier's `webhook`.

Figures recorded here (RSS, lags, counts) are printed at the end of the run under "daemon
figures" and written as JSON to `$DGAS_DAEMON_FIGURES` when that is set. The reliability
conftest prints its own section when it is loaded too (a full run shows them there as well).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from dgas_pipeline_tests.notify.conftest import webhook as webhook
from dgas_pipeline_tests.reliability.conftest import _FIGURES
from dgas_pipeline_tests.reliability.conftest import figures as figures

FIGURES_ENV = "DGAS_DAEMON_FIGURES"
PACKAGE = "dgas_pipeline_tests/daemon/"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    ours = {test: values for test, values in _FIGURES.items() if PACKAGE in test}
    if not ours:
        return
    terminalreporter.section("daemon figures")
    for test, values in sorted(ours.items()):
        shown = ", ".join(f"{k}={v}" for k, v in values.items())
        terminalreporter.write_line(f"{test.rsplit('/', 1)[-1]}: {shown}")
    target = os.environ.get(FIGURES_ENV)
    if target:
        Path(target).write_text(json.dumps(ours, indent=2, sort_keys=True), encoding="utf-8")
