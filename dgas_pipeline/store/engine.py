"""Where our tables live and how we connect to them.

One engine per database URL per process: engines own connection pools, and a Dagster run
builds resources in several places. Keyed by process id as well, because a pool inherited
across `fork` shares sockets with the parent.
"""

from __future__ import annotations

import importlib.util
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.writable import why_not_writable

DATABASE_URL_ENV = "DGAS_DATABASE_URL"
CONFIG_FIELD = "database_url"
DAGSTER_HOME_ENV = "DAGSTER_HOME"
SQLITE_FILENAME = "dgas.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for another (the daemon, a run, the CLI) before failing."""
CHECK_CONNECT_TIMEOUT_S = 5
"""How long `check_database` waits for a server: a command refused fast beats one that hangs."""
_URL_EXAMPLES = "e.g. postgresql://user@host:5432/db or sqlite:////srv/dgas/dgas.db"

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
    home = Path(env.get("DAGSTER_HOME", "").strip() or Path.cwd() / ".dagster_home").expanduser()
    try:
        home = home.resolve()
    except (OSError, RuntimeError):  # a loop of symbolic links: `check_dagster_home` says so
        home = home.absolute()
    return f"sqlite:///{home / SQLITE_FILENAME}"


@dataclass(frozen=True)
class DatabaseChoice:
    """The database a command uses, and what a person set to choose it."""

    url: str
    field: str
    """`DGAS_DATABASE_URL`, the config's `database_url`, or `DAGSTER_HOME` (the default)."""
    shown: str
    """The value to print for `field`: the URL with its password masked, or the home."""


def database_in_use(config_url: str | None, env: Mapping[str, str] = os.environ) -> DatabaseChoice:
    """`DGAS_DATABASE_URL`, else the config's `database_url`, else SQLite in DAGSTER_HOME.

    The variable is taken as given, blanks included: that is what a run's resource reads,
    so a URL padded with spaces is refused here rather than half-way through a run.
    """
    explicit = env.get(DATABASE_URL_ENV, "")
    if explicit:
        return DatabaseChoice(explicit, DATABASE_URL_ENV, redact_url(explicit))
    if config_url:
        return DatabaseChoice(config_url, CONFIG_FIELD, redact_url(config_url))
    home = env.get(DAGSTER_HOME_ENV, "").strip() or str(Path.cwd() / ".dagster_home")
    return DatabaseChoice(database_url(env), DAGSTER_HOME_ENV, home)


def check_database(
    choice: DatabaseChoice, timeout_s: int = CHECK_CONNECT_TIMEOUT_S, *, any_revision: bool = False
) -> None:
    """Connect once, briefly, and refuse what cannot work as bad input naming `choice.field`.

    A URL that does not parse, names a driver nobody installed, or a server that does not
    answer would otherwise surface as a SQLAlchemy traceback from the first query, in the
    middle of a command. SQLite files are inspected, never created: a command refused later
    for another reason leaves nothing behind.
    """
    problem = _database_problem(choice.url, choice.field, timeout_s, any_revision)
    if problem is not None:
        raise InvalidInput(choice.field, choice.shown, problem)


def normalize_url(url: str, field: str = DATABASE_URL_ENV) -> str:
    """Give a bare `postgresql://` or `postgres://` URL the PostgreSQL driver installed here.

    Operators paste URLs from their hosting provider (Heroku-style `postgres://`); they should
    not need to know which Python driver we ship.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise InvalidInput(
            field, redact_url(url), f"is not a database URL ({_URL_EXAMPLES})"
        ) from None
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername=f"postgresql+{_postgres_driver()}")
    return parsed.render_as_string(hide_password=False)


def redact_url(url: str | URL) -> str:
    """The URL with its password masked: what we are allowed to print or log."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
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


def _database_problem(url: str, field: str, timeout_s: int, any_revision: bool) -> str | None:
    if url != url.strip() or any(ord(char) < 0x20 or ord(char) == 0x7F for char in url):
        # A URL pasted with its newline: SQLAlchemy would keep it in the file name.
        return (
            "is not a database URL: it has white space around it or a control character in "
            f"it ({_URL_EXAMPLES})"
        )
    try:
        parsed = make_url(normalize_url(url, field))
    except InvalidInput as err:
        return err.expected
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_problem(parsed.database or "", any_revision)
    try:
        engine = sa.create_engine(
            parsed, poolclass=NullPool, connect_args=_connect_timeout(parsed, timeout_s)
        )
    except NoSuchModuleError:
        return (
            f"names an unknown database driver {parsed.drivername!r} "
            f"(expected postgresql or sqlite, {_URL_EXAMPLES})"
        )
    except ImportError as err:
        return f"needs the Python module {err.name or str(err)!r}, which is not installed"
    try:
        with engine.connect() as conn:
            return _schema_problem(conn, any_revision)
    except DBAPIError as err:
        return f"cannot connect: {_first_line(err.orig or err, parsed)}"
    except SQLAlchemyError as err:
        return f"cannot connect: {_first_line(err, parsed)}"
    finally:
        engine.dispose()


def _schema_problem(conn: Connection, any_revision: bool) -> str | None:
    """Whether our tables can live here: on PostgreSQL a search_path naming no existing
    schema connects fine, then fails the first CREATE TABLE; and a database a newer release
    migrated fails Alembic's upgrade (an unknown revision) with a traceback."""
    from dgas_pipeline.store import revisions as migrate

    revision = None if any_revision else migrate.unknown_revision(conn)
    if revision is not None:
        return (
            f"is at schema revision {revision!r}, which this dgas does not know (it knows up "
            f"to {migrate.head_revision()}): a newer release migrated it (expected a dgas at "
            "least as new, or another database)"
        )
    if conn.dialect.name != "postgresql":
        return None
    if conn.execute(sa.text("SELECT current_schema()")).scalar() is not None:
        return None
    path = conn.execute(sa.text("SHOW search_path")).scalar()
    return (
        f"has no schema for our tables: its search_path ({path}) names no existing schema "
        "(expected e.g. ?options=-csearch_path%3Dpublic, or create the schema first)"
    )


def _sqlite_problem(database: str, any_revision: bool) -> str | None:
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        return (
            "is an in-memory SQLite database, which each command would start empty and lose "
            "(expected a file, e.g. sqlite:////srv/dgas/dgas.db)"
        )
    path = Path(database).expanduser()
    try:
        path.stat()
        exists = True
    except (FileNotFoundError, NotADirectoryError):
        exists = False
    except OSError as err:  # a loop of symbolic links, a name too long
        return f"names {path}, which cannot be inspected ({err.strerror or err})"
    if not exists:
        problem = why_not_writable(path.parent)
        return f"cannot hold {path}: {path.parent} {problem}" if problem else None
    if not path.is_file():
        return f"names {path}, which is not a file"
    try:
        # Reads the header only: an existing file is never changed by the check.
        conn = sqlite3.connect(path, timeout=CHECK_CONNECT_TIMEOUT_S)
        try:
            conn.execute("PRAGMA schema_version").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as err:
        return f"names {path}, which SQLite cannot open: {err}"
    # Read-only, so that not even the journal mode of the file changes.
    read_only = sa.create_engine(
        f"sqlite:///file:{quote(str(path.resolve()))}?mode=ro&uri=true", poolclass=NullPool
    )
    try:
        with read_only.connect() as connection:
            return _schema_problem(connection, any_revision)
    finally:
        read_only.dispose()


def _connect_timeout(url: URL, timeout_s: int) -> dict[str, Any]:
    # libpq (psycopg2 and psycopg 3) waits 2 s at least; other drivers get their default.
    return {"connect_timeout": timeout_s} if url.get_backend_name() == "postgresql" else {}


def _first_line(err: BaseException, url: URL) -> str:
    """The driver's first line, with the URL's password masked should it quote it."""
    line = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return line.replace(url.password, "***") if url.password else line


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
