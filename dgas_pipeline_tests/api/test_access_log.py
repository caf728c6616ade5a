"""What the served API writes to its log: request lines with every query value masked, and
never the token, on any path, a failing one included. A live uvicorn with `dgas api`'s own
logging configuration, its stream kept in memory."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from dgas_pipeline.api import create_app
from dgas_pipeline.api.access_log import ACCESS_LOGGER, QueryStringMask, mask_query
from dgas_pipeline.api.server import stderr_logging
from dgas_pipeline.config import SchedulerConfig
from dgas_pipeline.store.engine import make_engine, write_transaction
from dgas_pipeline_tests.api.conftest import TOKEN, live_server

SECRET = "SENTINEL-query-secret-5c1d"  # noqa: S105  (a marker to search the log for)
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


@pytest.mark.parametrize(
    ("target", "logged"),
    [
        ("/status", "/status"),
        ("/status?", "/status?"),
        ("/status?token=abc", "/status?token=***"),
        ("/w?version=1&token=abc", "/w?version=***&token=***"),
        ("/w?token=", "/w?token=***"),
        ("/w?abc", "/w?***"),
        ("/w?a=1&&b=2", "/w?a=***&&b=***"),
        ("/w?token=a=b", "/w?token=***"),
        ("/w?Bearer%20abc=1", "/w?***"),
        (f"/w?{'k' * 24}=1", f"/w?{'k' * 24}=***"),
        (f"/w?{'k' * 25}=1", "/w?***"),
        (f"/w?{TOKEN}=1", "/w?***"),
        ("/w?access_token=a%26b&x=", "/w?access_token=***&x=***"),
        ("/w?a=1?b=2", "/w?a=***"),
    ],
)
def test_mask_query_keeps_the_path_and_names_and_masks_every_value(
    target: str, logged: str
) -> None:
    assert mask_query(target) == logged


@dataclass
class Served:
    client: httpx.Client  # sends the right token
    base_url: str
    db_url: str
    log: io.StringIO


@pytest.fixture
def uvicorn_logging() -> Iterator[None]:
    """uvicorn's loggers as they were: the server below reconfigures them for its run."""
    saved = {
        name: (lg.handlers[:], lg.filters[:], lg.level, lg.propagate, lg.disabled)
        for name in UVICORN_LOGGERS
        for lg in [logging.getLogger(name)]
    }
    yield
    for name, (handlers, filters, level, propagate, disabled) in saved.items():
        lg = logging.getLogger(name)
        lg.handlers[:], lg.filters[:] = handlers, filters
        lg.level, lg.propagate, lg.disabled = level, propagate, disabled


@contextmanager
def serving(db_url: str) -> Iterator[Served]:
    """The API on `db_url` with `core` stored, logging through `dgas api`'s configuration
    into memory; the log is complete once the block has ended (the server stopped)."""
    log = io.StringIO()
    config: dict[str, Any] = stderr_logging()
    for handler in config["handlers"].values():
        handler["stream"] = log
    app = create_app(db_url, TOKEN, config=SchedulerConfig())
    with (
        live_server(app, log_config=config) as base,
        httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        ) as client,
    ):
        assert client.post("/watchlists", json={"name": "core", "symbols": ["SPY"]}).is_success
        yield Served(client, base, db_url, log)


@pytest.fixture
def served(sqlite_url: str, uvicorn_logging: None) -> Iterator[Served]:
    with serving(sqlite_url) as running:
        yield running


QUERIES: list[tuple[str, str, bool, int, str]] = [
    # (method, target, with the token, status, the line logged)
    ("GET", f"/status?token={SECRET}", False, 401, "GET /status?token=*** HTTP/1.1"),
    ("GET", f"/status?access_token={SECRET}", True, 422, "GET /status?access_token=***"),
    ("GET", f"/watchlists?a=1&api_key={SECRET}&b=2", True, 422,
     "GET /watchlists?a=***&api_key=***&b=*** HTTP/1.1"),
    ("GET", f"/watchlists/core?{SECRET}", True, 422, "GET /watchlists/core?*** HTTP/1.1"),
    ("GET", f"/watchlists/ghost?token={SECRET}", False, 401, "/watchlists/ghost?token=***"),
    ("DELETE", f"/watchlists/core?version={SECRET}", True, 422,
     "DELETE /watchlists/core?version=*** HTTP/1.1"),
    ("DELETE", "/watchlists/core?version=7", True, 409, "DELETE /watchlists/core?version=***"),
    ("POST", f"/watchlists/core/stop?{TOKEN}=1", True, 422, "/watchlists/core/stop?*** HTTP"),
    ("GET", f"/nowhere?token={SECRET}", True, 404, "GET /nowhere?token=*** HTTP/1.1"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "target", "authorized", "status", "line"), QUERIES)
def test_the_access_log_masks_query_values(
    served: Served, method: str, target: str, authorized: bool, status: int, line: str
) -> None:
    with httpx.Client(base_url=served.base_url, timeout=30) as anonymous:
        client = served.client if authorized else anonymous
        response = client.request(method, target)
    assert response.status_code == status, response.text
    logged = served.log.getvalue()
    assert f"{line}" in logged
    assert f" {status} " in logged.splitlines()[-1]
    assert SECRET not in logged
    assert TOKEN not in logged


def test_a_failing_request_logs_its_traceback_without_the_token(
    sqlite_url: str, uvicorn_logging: None
) -> None:
    """An unexpected error (the table dropped under the running API) is a 500 with a
    traceback in the log: the token the request carried is in neither."""
    with serving(sqlite_url) as running:
        with write_transaction(make_engine(sqlite_url)) as conn:
            conn.execute(sa.text("DROP TABLE watchlists"))
        response = running.client.get(f"/watchlists/core?version={SECRET}")
        assert response.status_code == 422  # its access line is logged, masked
        response = running.client.get("/watchlists")
        assert response.status_code == 500
    logged = running.log.getvalue()
    assert "Exception in ASGI application" in logged
    assert "no such table: watchlists" in logged
    assert SECRET not in logged
    assert TOKEN not in logged
    assert TOKEN not in response.text


def test_the_mask_is_on_the_access_logger_whatever_its_handlers(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    """Another handler (here pytest's, on the logger itself) sees the masked line too."""
    access = logging.getLogger(ACCESS_LOGGER)
    assert [f for f in access.filters if isinstance(f, QueryStringMask)]
    access.addHandler(caplog.handler)
    try:
        served.client.get(f"/status?token={SECRET}")
    finally:
        access.removeHandler(caplog.handler)
    (record,) = [r for r in caplog.records if r.name == ACCESS_LOGGER]
    assert "/status?token=***" in record.getMessage()
    assert SECRET not in record.getMessage()
