"""`dgas db upgrade|downgrade|current`: our tables' Alembic revisions, for operators.

The database is the one the pipeline uses (`DGAS_DATABASE_URL`, else the config's
`database_url`, else SQLite under DAGSTER_HOME); its password is never printed.
"""

from __future__ import annotations

import argparse
from typing import Any

from dgas_pipeline.config import load_config
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.location import tables_url
from dgas_pipeline.store import migrate
from dgas_pipeline.store.engine import redact_url


def _url(args: argparse.Namespace) -> str:
    return tables_url(load_config(args.config))


def _state(url: str) -> dict[str, Any]:
    return {
        "database": redact_url(url),
        "revision": migrate.current_revision(url),
        "head": migrate.head_revision(),
    }


def cmd_upgrade(args: argparse.Namespace) -> dict[str, Any]:
    url = _url(args)
    migrate.upgrade(url)
    return _state(url)


def cmd_downgrade(args: argparse.Namespace) -> dict[str, Any]:
    url = _url(args)
    known = migrate.revisions()
    if args.revision not in (*known, "base"):
        raise InvalidInput("REVISION", args.revision, f"is not one of base, {', '.join(known)}")
    migrate.downgrade(url, args.revision)
    return _state(url)


def cmd_current(args: argparse.Namespace) -> dict[str, Any]:
    return _state(_url(args))


def render(result: dict[str, Any]) -> str:
    return f"{result['database']}: at {result['revision'] or 'base'} (newest {result['head']})"
