"""Fixtures of the real-daemon tests: the reliability tests' `figures`, the notifier's `webhook`.

Figures recorded here (RSS, lags, counts) are printed at the end of the run under "daemon
figures" and written as JSON to `$DGAS_DAEMON_FIGURES` when that is set. The reliability
conftest prints its own section when it is loaded too (a full run shows them there as well).
"""

from __future__ import annotations

from typing import Any

from dgas_pipeline_tests.notify.conftest import webhook as webhook
from dgas_pipeline_tests.reliability.conftest import _FIGURES, report_figures
from dgas_pipeline_tests.reliability.conftest import figures as figures

FIGURES_ENV = "DGAS_DAEMON_FIGURES"
PACKAGE = "dgas_pipeline_tests/daemon/"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    ours = {test: values for test, values in _FIGURES.items() if PACKAGE in test}
    report_figures(terminalreporter, "daemon figures", ours, FIGURES_ENV)
