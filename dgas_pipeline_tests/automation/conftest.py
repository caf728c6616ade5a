"""Fixtures of the automation tests: one deployment per test, at fixed instants.

A deployment (`dgas_pipeline_tests.deployment`) is an empty DAGSTER_HOME (the repo's
dagster.yaml is copied in on first use, as `dgas` does), its own database
(`DGAS_DATABASE_URL`), a config file, and the code location rebuilt from them.

Dagster only knows partitions whose window ended before "now", and today is not a session we
can pin, so tests run past or future sessions under `time_machine` (which also moves
`time.time`, Dagster's clock).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from dgas_pipeline.cycle import alerts_pass
from dgas_pipeline_tests.deployment import QUIET as QUIET
from dgas_pipeline_tests.deployment import Deployment as Deployment
from dgas_pipeline_tests.deployment import deployed

ET = ZoneInfo("America/New_York")
REPO = Path(__file__).resolve().parents[2]


def et(text: str) -> datetime:
    """`2026-11-27 11:35[:ss]` read as New York wall time."""
    return datetime.fromisoformat(text).replace(tzinfo=ET)


def _deployment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> contextlib.AbstractContextManager[Deployment]:
    """A deployment on `url` (the reliability tests build theirs with it)."""
    return deployed(tmp_path, monkeypatch, url, Deployment)


@pytest.fixture
def deployment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> Iterator[Deployment]:
    """A deployment on SQLite: for what does not depend on the database backend."""
    with _deployment(tmp_path, monkeypatch, sqlite_url) as env:
        yield env


@pytest.fixture
def deployment_on_each_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> Iterator[Deployment]:
    """The same deployment once on SQLite and once on PostgreSQL."""
    with _deployment(tmp_path, monkeypatch, db_url) as env:
        yield env


ONE_RULE = {
    "alerts": [
        {
            "name": "aapl-above-zero",
            "symbols": ["AAPL"],
            "timeframe": "30min",
            "when": {"field": "close", "op": "gt", "value": 0},
            "channels": ["console"],
        }
    ]
}


@contextlib.contextmanager
def alerts_failing(deployment: Deployment, tmp_path: Path) -> Iterator[None]:
    """One alert rule configured and, inside the block, only the `alerts` asset failing: its
    bars' `notifications` still materialise, which must not make them "done"."""
    rules = tmp_path / "alerts.yaml"
    rules.write_text(yaml.safe_dump(ONE_RULE), encoding="utf-8")
    deployment.configure(alerts_file=str(rules))

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("alert engine exploded")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(alerts_pass, "evaluate_rules", boom)
        yield
