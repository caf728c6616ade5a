"""A real uvicorn server on 127.0.0.1 (ephemeral port) in a background thread, per test.

Not `TestClient`: the tests go through sockets, HTTP parsing, the middleware and the
threadpool exactly as a client on this machine would.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI

from dgas_pipeline.api import create_app
from dgas_pipeline.config import SchedulerConfig
from dgas_pipeline.store.engine import make_engine
from dgas_pipeline.store.tables import watchlists

TOKEN = secrets.token_urlsafe(32)
CORE = {"name": "core", "symbols": ["spy", "aapl"]}
START_TIMEOUT_S = 10


@contextmanager
def live_server(app: FastAPI, log_config: dict[str, Any] | None = None) -> Iterator[str]:
    """Serve `app` until the block ends; yields its base URL. With `log_config` (a
    `logging.config.dictConfig` dict, e.g. `dgas api`'s), uvicorn logs through it, access log
    included; without, it logs warnings and errors only."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    config = (
        uvicorn.Config(app, log_config=log_config, lifespan="off")
        if log_config
        else uvicorn.Config(app, log_level="warning", lifespan="off")
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT_S)
        sock.close()


@pytest.fixture
def api_url(sqlite_url: str) -> Iterator[str]:
    """The API with a token, over a fresh SQLite database (what HTTP handling is tested on)."""
    with live_server(create_app(sqlite_url, TOKEN, config=SchedulerConfig())) as url:
        yield url


@pytest.fixture
def client(api_url: str) -> Iterator[httpx.Client]:
    """A client that sends the right token."""
    with _authorized(api_url) as c:
        yield c


def _authorized(base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)


@pytest.fixture
def anonymous(api_url: str) -> Iterator[httpx.Client]:
    """A client that sends no token."""
    with httpx.Client(base_url=api_url, timeout=30) as c:
        yield c


def fields(response: httpx.Response) -> list[str]:
    """The fields a 422 names, in order."""
    assert response.status_code == 422, response.text
    return [p["field"] for p in response.json()["detail"]]


@contextmanager
def client_with_core(db_url: str) -> Iterator[httpx.Client]:
    """A token-bearing client of the API on `db_url`, with one watchlist `core` (SPY) stored:
    the bad-input and injection tests check that it is left untouched."""
    with (
        live_server(create_app(db_url, TOKEN, config=SchedulerConfig())) as base,
        httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        ) as client,
    ):
        assert client.post("/watchlists", json={"name": "core", "symbols": ["SPY"]}).is_success
        yield client


def stored_watchlists(db_url: str) -> list[dict[str, Any]]:
    """Every column of every stored watchlist, read from the table itself (not through the
    API under test): what "nothing stored changed" compares."""
    with make_engine(db_url).connect() as conn:
        rows = conn.execute(sa.select(watchlists).order_by(watchlists.c.id)).mappings()
        return [dict(row) for row in rows]
