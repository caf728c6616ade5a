"""Fixtures shared by every test package: databases to run the store against.

PostgreSQL tests get a schema of their own (created here, dropped after), reached through
the URL's `options=-csearch_path=...`, so tests can run in parallel against one server and
nothing they create outlives them. When the server is not reachable they are skipped on a
laptop but fail in CI (`CI=true`), where a silent skip would hide a broken backend.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from dgas_pipeline.store.engine import dispose_engine, normalize_url

PG_URL_ENV = "DGAS_TEST_PG_URL"
PG_DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
PG_CONNECT_TIMEOUT_S = 3


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that reaches PostgreSQL carries the `postgres` marker (`-m "not postgres"`)."""
    for item in items:
        if "pg_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    """A fresh SQLite database file (not yet migrated)."""
    url = f"sqlite:///{tmp_path / 'dgas.db'}"
    yield url
    dispose_engine(url)


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """The test server's URL, once it answered; skip (or fail in CI) when it does not."""
    url = os.environ.get(PG_URL_ENV, PG_DEFAULT_URL)
    engine = _admin_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as err:
        message = f"PostgreSQL not reachable at {make_url(url)!r} ({PG_URL_ENV}): {err.orig}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    finally:
        engine.dispose()
    return url


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A URL into an empty schema of the test server, private to this test."""
    schema = f"t_{uuid.uuid4().hex}"
    admin = _admin_engine(pg_server_url)
    with admin.begin() as conn:
        conn.execute(sa.schema.CreateSchema(schema))
    parsed = make_url(pg_server_url)
    options = " ".join(filter(None, [parsed.query.get("options"), f"-csearch_path={schema}"]))
    url = parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        # Close the store's pooled connections first, or DROP waits on their locks.
        dispose_engine(url)
        with admin.begin() as conn:
            conn.execute(sa.schema.DropSchema(schema, cascade=True))
        admin.dispose()


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def db_url(request: pytest.FixtureRequest) -> str:
    """The same test on each supported backend; the PostgreSQL one is marked `postgres`."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return request.getfixturevalue(fixture)


def _admin_engine(url: str) -> sa.Engine:
    return sa.create_engine(
        normalize_url(url),
        poolclass=NullPool,
        connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S},
    )
