"""`dgas db upgrade|downgrade|current`: our tables' Alembic revisions, for operators.

The database is the one the pipeline uses (`DGAS_DATABASE_URL`, else the config's
`database_url`, else SQLite under DAGSTER_HOME); its password is never printed.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from dgas_pipeline.config import load_config
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.store import migrate
from dgas_pipeline.store.engine import database_url, normalize_url, redact_url


def add_commands(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    common: argparse.ArgumentParser,
    parser_class: type[argparse.ArgumentParser],
) -> None:
    group = commands.add_parser("db", help="migrate the pipeline's tables (Alembic)")
    sub = group.add_subparsers(title="commands", metavar="COMMAND", parser_class=parser_class)
    up = sub.add_parser("upgrade", parents=[common], help="migrate to the newest revision")
    up.set_defaults(handler=cmd_upgrade, render=render)
    down = sub.add_parser("downgrade", parents=[common], help="migrate back to REVISION")
    down.add_argument("revision", metavar="REVISION", help="e.g. 0002, or base")
    down.set_defaults(handler=cmd_downgrade, render=render)
    current = sub.add_parser("current", parents=[common], help="the revision the tables are at")
    # Says which revision the tables are at, even one this release does not know.
    current.set_defaults(handler=cmd_current, render=render, any_revision=True)


def _url(args: argparse.Namespace) -> str:
    config = load_config(args.config)
    if os.environ.get("DGAS_DATABASE_URL") or not config.database_url:
        return database_url()
    return normalize_url(config.database_url)


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
