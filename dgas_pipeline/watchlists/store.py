"""Reads and writes of the `watchlists` table, one purpose each.

Like `store/repositories.py`, every function takes a `Connection` and never commits: the
caller owns the transaction. Statements are SQLAlchemy Core with bound parameters only, so a
name such as `x'); DROP TABLE watchlists;--` is a value, never SQL (the service rejects such
names anyway; this layer stores whatever it is given, verbatim).

Concurrency: configuration changes are compare-and-set on the `version` column (see
`store/tables.py`). `update_watchlist` runs `UPDATE ... WHERE name = :name AND version =
:expected`: on PostgreSQL a concurrent writer blocks on the row lock, then re-checks the WHERE
against the committed row and matches nothing; on SQLite writers are serialised by
`BEGIN IMMEDIATE`. Either way the loser gets `VersionConflict`, never a silent overwrite.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from dgas_pipeline.store.tables import watchlists
from dgas_pipeline.watchlists.errors import VersionConflict, WatchlistExists, WatchlistNotFound


@dataclass(frozen=True, slots=True)
class Watchlist:
    """One stored watchlist; times are aware UTC."""

    id: int
    name: str
    symbols: tuple[str, ...]
    schedule: str
    enabled: bool
    version: int
    created_at: datetime
    updated_at: datetime
    last_run_id: str | None
    last_run_status: str | None
    last_run_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        row = asdict(self)
        row["symbols"] = list(self.symbols)
        for key in ("created_at", "updated_at", "last_run_at"):
            row[key] = _iso(row[key])
        return row


def add_watchlist(
    conn: Connection,
    name: str,
    symbols: Sequence[str],
    schedule: str,
    enabled: bool = True,
) -> Watchlist:
    """Insert a new watchlist; `WatchlistExists` if the name is taken."""
    now = _now()
    stmt = (
        _insert(conn)
        .values(
            name=name,
            symbols=list(symbols),
            schedule=schedule,
            enabled=enabled,
            version=1,
            created_at=now,
            updated_at=now,
        )
        # ON CONFLICT rather than catching IntegrityError: on PostgreSQL a failed statement
        # poisons the caller's transaction.
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(*watchlists.c)
    )
    row = conn.execute(stmt).mappings().one_or_none()
    if row is None:
        raise WatchlistExists(name)
    return _watchlist(row)


def list_watchlists(conn: Connection, *, enabled_only: bool = False) -> list[Watchlist]:
    """All watchlists (or the enabled ones), by name."""
    stmt = sa.select(watchlists).order_by(watchlists.c.name)
    if enabled_only:
        stmt = stmt.where(watchlists.c.enabled.is_(True))
    return [_watchlist(row) for row in conn.execute(stmt).mappings()]


def find_watchlist(conn: Connection, name: str) -> Watchlist | None:
    row = conn.execute(sa.select(watchlists).where(watchlists.c.name == name)).mappings().first()
    return _watchlist(row) if row is not None else None


def get_watchlist(conn: Connection, name: str) -> Watchlist:
    """The watchlist called `name`; `WatchlistNotFound` if there is none."""
    found = find_watchlist(conn, name)
    if found is None:
        raise WatchlistNotFound(name)
    return found


def update_watchlist(
    conn: Connection,
    name: str,
    *,
    expected_version: int,
    symbols: Sequence[str] | None = None,
    schedule: str | None = None,
    enabled: bool | None = None,
) -> Watchlist:
    """Change the given fields if the row is still at `expected_version`; bumps the version.

    `VersionConflict` when someone else changed it first, `WatchlistNotFound` when it is gone.
    Nothing to change is not a write: the current row comes back (after the version check).
    """
    changes: dict[str, Any] = {}
    if symbols is not None:
        changes["symbols"] = list(symbols)
    if schedule is not None:
        changes["schedule"] = schedule
    if enabled is not None:
        changes["enabled"] = enabled
    if not changes:
        current = get_watchlist(conn, name)
        if current.version != expected_version:
            raise VersionConflict(name, expected_version, current.version)
        return current
    stmt = (
        sa.update(watchlists)
        .where(watchlists.c.name == name, watchlists.c.version == expected_version)
        .values(**changes, version=watchlists.c.version + 1, updated_at=_now())
        .returning(*watchlists.c)
    )
    row = conn.execute(stmt).mappings().one_or_none()
    if row is None:
        current = get_watchlist(conn, name)
        raise VersionConflict(name, expected_version, current.version)
    return _watchlist(row)


def set_enabled(conn: Connection, name: str, enabled: bool) -> Watchlist:
    """Start or stop a watchlist. Idempotent: starting a started one changes nothing (and
    does not bump the version, so it cannot make someone else's pending edit conflict)."""
    stmt = (
        sa.update(watchlists)
        .where(watchlists.c.name == name, watchlists.c.enabled != enabled)
        .values(enabled=enabled, version=watchlists.c.version + 1, updated_at=_now())
        .returning(*watchlists.c)
    )
    row = conn.execute(stmt).mappings().one_or_none()
    return _watchlist(row) if row is not None else get_watchlist(conn, name)


def remove_watchlist(
    conn: Connection, name: str, *, expected_version: int | None = None
) -> Watchlist:
    """Delete a watchlist and return what it was; with `expected_version`, only if unchanged."""
    current = get_watchlist(conn, name)
    if expected_version is not None and current.version != expected_version:
        raise VersionConflict(name, expected_version, current.version)
    stmt = sa.delete(watchlists).where(
        watchlists.c.name == name, watchlists.c.version == current.version
    )
    if conn.execute(stmt).rowcount == 0:
        # Changed or deleted between our read and the delete (PostgreSQL, no lock held).
        now = find_watchlist(conn, name)
        if now is None:
            raise WatchlistNotFound(name)
        raise VersionConflict(name, current.version, now.version)
    return current


def record_run(
    conn: Connection, name: str, run_id: str, status: str, at: datetime | None = None
) -> bool:
    """Note a run of the watchlist (the sensor's launch, then its outcome).

    Returns False when the watchlist no longer exists (deleted while its run was going):
    a run finishing must not fail because of that. Does not touch `version`/`updated_at`.
    """
    stmt = (
        sa.update(watchlists)
        .where(watchlists.c.name == name)
        .values(last_run_id=run_id, last_run_status=status, last_run_at=at or _now())
    )
    return conn.execute(stmt).rowcount > 0


def _watchlist(row: Mapping[str, Any]) -> Watchlist:
    return Watchlist(
        id=row["id"],
        name=row["name"],
        symbols=tuple(row["symbols"]),
        schedule=row["schedule"],
        enabled=bool(row["enabled"]),
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        last_run_id=row["last_run_id"],
        last_run_status=row["last_run_status"],
        last_run_at=row["last_run_at"],
    )


def _insert(conn: Connection) -> Any:
    """The dialect's INSERT, which is the one that knows ON CONFLICT."""
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert(watchlists)
    if name == "sqlite":
        return sqlite.insert(watchlists)
    raise NotImplementedError(f"dgas tables support SQLite and PostgreSQL, not {name}")


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z") if at is not None else None


def _now() -> datetime:
    return datetime.now(UTC)
