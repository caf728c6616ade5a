"""A lock shared by every process using one database, released when its holder dies.

The notifier claims a message, sends it and records the outcome; two runs of the same bar
at once (two `dgas run-once`, a UI launch racing the sensor) must not both send. The claim
alone cannot tell a run that is still sending from one that crashed mid-send, so the whole
claim-send-record sequence of one message on one channel runs under this lock. A holder that
dies releases it with its connection (PostgreSQL) or its file descriptor (SQLite): a crashed
run never blocks the retry that follows it.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

_IN_MEMORY = threading.Lock()
# Advisory locks are per database; the key also hashes the schema, so deployments sharing a
# database in separate schemas (and tests doing so) never wait on each other.
_PG_LOCK = sa.text(
    "SELECT pg_advisory_xact_lock(('x' || substr(md5("
    "current_database() || '/' || current_schema() || '/' || :name), 1, 16))::bit(64)::bigint)"
)


@contextmanager
def exclusive(engine: Engine, name: str) -> Iterator[None]:
    """Hold the lock `name` of this database for the block, waiting while another holds it.

    PostgreSQL: a transaction-level advisory lock on a connection of its own (per name and
    schema).
    SQLite: an exclusive `flock` on a file beside the database (one lock for every name:
    deliveries to one SQLite file are few and short). In-memory SQLite: a process lock.
    """
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(_PG_LOCK, {"name": name})
            yield
        return
    database = engine.url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        with _IN_MEMORY:
            yield
        return
    path = Path(database).expanduser().with_name(Path(database).name + ".lock")
    with path.open("a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
