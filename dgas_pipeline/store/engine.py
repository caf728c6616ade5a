"""Where our tables live and how we connect to them.

One engine per database URL per process: engines own connection pools, and a Dagster run
builds resources in several places. Keyed by process id as well, because a pool inherited
across `fork` shares sockets with the parent.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError

DATABASE_URL_ENV = "DGAS_DATABASE_URL"
SQLITE_FILENAME = "dgas.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for another (the daemon, a run, the CLI) before failing."""

_engines: dict[tuple[int, str], Engine] = {}
_engines_lock = threading.Lock()


def database_url(env: Mapping[str, str] = os.environ) -> str:
    """The URL of our tables: `DGAS_DATABASE_URL`, else SQLite beside Dagster's own storage.

    The default keeps "nothing to start" true for the embedded instance: any DAGSTER_HOME
    (default `<cwd>/.dagster_home`) gets its `dgas.db`.
    """
    explicit = env.get(DATABASE_URL_ENV, "").strip()
    if explicit:
        return normalize_url(explicit)
    home = env.get("DAGSTER_HOME", "").strip() or str(Path.cwd() / ".dagster_home")
    return f"sqlite:///{Path(home).expanduser().resolve() / SQLITE_FILENAME}"


def normalize_url(url: str) -> str:
    """Give a bare `postgresql://` or `postgres://` URL the PostgreSQL driver installed here.

    Operators paste URLs from their hosting provider (Heroku-style `postgres://`); they should
    not need to know which Python driver we ship.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as err:
        raise ValueError(f"{DATABASE_URL_ENV}: {redact_url(url)!r} is not a database URL") from err
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername=f"postgresql+{_postgres_driver()}")
    return parsed.render_as_string(hide_password=False)


def redact_url(url: str | URL) -> str:
    """The URL with its password masked: what we are allowed to print or log."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        # Unparseable: do not guess where the secret is, hide everything after the scheme.
        text = str(url)
        scheme, sep, _ = text.partition("://")
        return f"{scheme}{sep}***" if sep else "***"
    # "redacted", not "***": query values are percent-encoded, which would render as %2A%2A%2A.
    query = {k: ("redacted" if k.lower() == "password" else v) for k, v in parsed.query.items()}
    return parsed.set(query=query).render_as_string(hide_password=True)


def make_engine(url: str) -> Engine:
    """The process-wide engine for `url` (normalised), created on first use."""
    normalized = normalize_url(url)
    key = (os.getpid(), normalized)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _create_engine(normalized)
            _engines[key] = engine
        return engine


def dispose_engine(url: str) -> None:
    """Close the pooled connections for `url` and forget the engine (tests, shutdown)."""
    normalized = normalize_url(url)
    with _engines_lock:
        engine = _engines.pop((os.getpid(), normalized), None)
    if engine is not None:
        engine.dispose()


def ensure_schema(url: str) -> None:
    """Bring the tables to the latest revision; one query when they already are."""
    from dgas_pipeline.store import migrate

    if migrate.current_revision(url) != migrate.head_revision():
        migrate.upgrade(url)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that is going to write: commits on success, rolls back on any error.

    On SQLite it starts with BEGIN IMMEDIATE, taking the write lock up front: a transaction
    that reads first and writes later could otherwise fail at once with "database is locked"
    when another writer got in between, instead of waiting `SQLITE_BUSY_TIMEOUT_MS`.
    """
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.execution_options(dgas_begin_immediate=True)
        with conn.begin():
            yield conn


def _postgres_driver() -> str:
    for module, driver in (("psycopg2", "psycopg2"), ("psycopg", "psycopg")):
        if importlib.util.find_spec(module) is not None:
            return driver
    return "psycopg2"  # let SQLAlchemy report the missing driver by its usual name


def _create_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # pre_ping: the daemon holds connections across nights; servers drop idle ones.
        return sa.create_engine(parsed, pool_pre_ping=True)
    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if not in_memory:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(parsed)
    _configure_sqlite(engine, wal=not in_memory)
    return engine


def _configure_sqlite(engine: Engine, *, wal: bool) -> None:
    """WAL, busy timeout, foreign keys, and real transactions on SQLite.

    pysqlite's own transaction handling starts transactions late and commits before DDL,
    so a failing group of writes (or a migration) could leave half its work behind. We turn
    it off and emit BEGIN ourselves, as SQLAlchemy's documentation recommends.
    """

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if wal:
                # WAL: readers (UI, CLI) never block the writer, nor the writer them.
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_MS)}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("dgas_begin_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
