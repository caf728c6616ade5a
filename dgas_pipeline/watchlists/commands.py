"""`dgas watchlist add|list|show|update|start|stop|remove|import` and `dgas api`.

Thin: parse flags (or read the import file) into the service's payloads and render its
answers; all validation lives in `service.py`, which the REST API uses too.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from dgas_pipeline.config import SchedulerConfig, load_config
from dgas_pipeline.errors import shown
from dgas_pipeline.input_files import read_mapping
from dgas_pipeline.location import market_for
from dgas_pipeline.store.engine import DATABASE_URL_ENV, database_url, make_engine
from dgas_pipeline.store.schema import ensure_schema
from dgas_pipeline.store.tables import WATCHLIST_EVERY_BAR
from dgas_pipeline.watchlists.service import MAX_VERSION, WatchlistService

IMPORT_FILE_FIELD = "watchlists_file"
DEFAULT_API_HOST = "127.0.0.1"
DEFAULT_API_PORT = 8001


def add_commands(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    common: argparse.ArgumentParser,
    parser_class: type[argparse.ArgumentParser],
) -> None:
    """Register `watchlist ...` and `api` on the `dgas` sub-command group."""
    group = commands.add_parser("watchlist", help="watchlists run by the scheduler")
    sub = group.add_subparsers(title="commands", metavar="COMMAND", parser_class=parser_class)

    add = sub.add_parser("add", parents=[common], help="create a watchlist")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--symbols", metavar="A,B", required=True, help="tickers, comma-separated")
    add.add_argument(
        "--schedule",
        default=WATCHLIST_EVERY_BAR,
        help="every_bar (default: joins every cycle) or HH:MM exchange-local on sessions",
    )
    add.add_argument("--disabled", action="store_true", help="create it stopped")
    add.set_defaults(handler=cmd_add, render=render_watchlist)

    ls = sub.add_parser("list", parents=[common], help="every watchlist")
    ls.set_defaults(handler=cmd_list, render=render_list)

    show = sub.add_parser("show", parents=[common], help="one watchlist")
    show.add_argument("name", metavar="NAME")
    show.set_defaults(handler=cmd_show, render=render_watchlist)

    update = sub.add_parser(
        "update", parents=[common], help="change a watchlist's symbols or schedule"
    )
    update.add_argument("name", metavar="NAME")
    update.add_argument("--symbols", metavar="A,B", help="the new tickers, comma-separated")
    update.add_argument("--schedule", help="every_bar or HH:MM")
    update.add_argument(
        "--version",
        metavar="N",
        type=_version_flag,
        help="apply only if the watchlist is still at version N (as last shown)",
    )
    update.set_defaults(handler=cmd_update, render=render_watchlist)

    for verb, handler, text in (
        ("start", cmd_start, "enable a watchlist"),
        ("stop", cmd_stop, "disable a watchlist (kept, not run)"),
    ):
        toggle = sub.add_parser(verb, parents=[common], help=text)
        toggle.add_argument("name", metavar="NAME")
        toggle.set_defaults(handler=handler, render=render_watchlist)

    remove = sub.add_parser("remove", parents=[common], help="delete a watchlist")
    remove.add_argument("name", metavar="NAME")
    remove.add_argument(
        "--version", metavar="N", type=_version_flag, help="delete only if still at version N"
    )
    remove.set_defaults(handler=cmd_remove, render=render_removed)

    load = sub.add_parser(
        "import",
        parents=[common],
        help="create the watchlists of a YAML or JSON file, all or none",
    )
    load.add_argument(
        "file",
        metavar="F",
        help="{watchlists: [{name, symbols, schedule, enabled}, ...]} (JSON if *.json)",
    )
    load.add_argument(
        "--replace",
        action="store_true",
        help="overwrite watchlists that already exist under the same name (default: an error)",
    )
    load.set_defaults(handler=cmd_import, render=render_imported)

    api = commands.add_parser(
        "api",
        parents=[common],
        help="serve the watchlist REST API (token: DGAS_API_TOKEN)",
    )
    api.add_argument("--host", default=DEFAULT_API_HOST, help="default 127.0.0.1 (loopback)")
    api.add_argument("--port", default=DEFAULT_API_PORT, type=_port_flag, help="default 8001")
    api.set_defaults(handler=cmd_api, render=lambda r: f"api on {r['host']}:{r['port']} stopped")


# -- handlers --------------------------------------------------------------------------------


def cmd_add(args: argparse.Namespace) -> dict[str, Any]:
    payload = {
        "name": args.name,
        "symbols": _split(args.symbols),
        "schedule": args.schedule,
        "enabled": not args.disabled,
    }
    return {"watchlist": _service(args).add(payload).to_json()}


def cmd_list(args: argparse.Namespace) -> dict[str, Any]:
    return {"watchlists": [w.to_json() for w in _service(args).list_all()]}


def cmd_show(args: argparse.Namespace) -> dict[str, Any]:
    return {"watchlist": _service(args).show(args.name).to_json()}


def cmd_update(args: argparse.Namespace) -> dict[str, Any]:
    service = _service(args)
    # Without --version, the change applies to the watchlist as it is now (read here); with
    # it, a change someone else made since you looked is a conflict, as in the API.
    version = args.version if args.version is not None else service.show(args.name).version
    payload: dict[str, Any] = {"version": version}
    if args.symbols is not None:
        payload["symbols"] = _split(args.symbols)
    if args.schedule is not None:
        payload["schedule"] = args.schedule
    return {"watchlist": service.update(args.name, payload).to_json()}


def cmd_start(args: argparse.Namespace) -> dict[str, Any]:
    return {"watchlist": _service(args).start(args.name).to_json()}


def cmd_stop(args: argparse.Namespace) -> dict[str, Any]:
    return {"watchlist": _service(args).stop(args.name).to_json()}


def cmd_remove(args: argparse.Namespace) -> dict[str, Any]:
    return {"removed": _service(args).remove(args.name, args.version).to_json()}


def cmd_import(args: argparse.Namespace) -> dict[str, Any]:
    # The file is read and checked before the database is touched.
    payload = read_mapping(args.file, IMPORT_FILE_FIELD, "must be a mapping with a watchlists list")
    imported = _service(args).import_all(payload, replace=args.replace)
    return {
        "watchlists": [w.to_json() for w in imported.watchlists],
        "created": imported.created,
        "replaced": imported.replaced,
    }


def cmd_api(args: argparse.Namespace) -> dict[str, Any]:
    from dgas_pipeline.api.server import serve

    config = load_config(args.config)
    serve(args.host, args.port, engine_url=store_url(config), config=config)
    return {"host": args.host, "port": args.port, "stopped": True}


# -- shared pieces ---------------------------------------------------------------------------


def store_url(config: SchedulerConfig) -> str:
    """Where our tables are, decided as the Dagster resources decide it: the environment
    (`DGAS_DATABASE_URL`) first, then the config file, then SQLite under DAGSTER_HOME."""
    if os.environ.get(DATABASE_URL_ENV, "").strip():
        return database_url()
    return config.database_url or database_url()


def _service(args: argparse.Namespace) -> WatchlistService:
    config = load_config(args.config)
    url = store_url(config)
    ensure_schema(url)
    return WatchlistService(make_engine(url), market_for(config))


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",")]


# argparse reports an ArgumentTypeError as "--flag: <message>", our one-line form.
def _version_flag(text: str) -> int:
    digits = text.lstrip("0")
    if not (text.isascii() and text.isdigit()) or not digits:
        raise argparse.ArgumentTypeError(
            f"{shown(text)} is not a version (expected a whole number >= 1)"
        )
    if len(digits) > len(str(MAX_VERSION)) or int(digits) > MAX_VERSION:
        raise argparse.ArgumentTypeError(
            f"{shown(text)} is not a version (expected a whole number from 1 to {MAX_VERSION})"
        )
    return int(digits)


def _port_flag(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 5 or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a port (expected 1 to 65535)")
    return int(text)


# -- output ----------------------------------------------------------------------------------


def render_watchlist(result: dict[str, Any]) -> str:
    return _describe(result["watchlist"])


def render_removed(result: dict[str, Any]) -> str:
    return f"removed {result['removed']['name']}"


def render_imported(result: dict[str, Any]) -> str:
    created, replaced = result["created"], result["replaced"]
    lines = [f"created {name}" for name in created] + [f"replaced {name}" for name in replaced]
    lines.append(f"{len(created)} created, {len(replaced)} replaced")
    return "\n".join(lines)


def render_list(result: dict[str, Any]) -> str:
    rows = [f"{'name':<24} {'state':<8} {'schedule':<10} {'ver':>4}  symbols"]
    for w in result["watchlists"]:
        state = "enabled" if w["enabled"] else "stopped"
        rows.append(
            f"{w['name']:<24} {state:<8} {w['schedule']:<10} {w['version']:>4}  "
            f"{','.join(w['symbols'])}"
        )
    rows.append(f"{len(result['watchlists'])} watchlists")
    return "\n".join(rows)


def _describe(w: dict[str, Any]) -> str:
    state = "enabled" if w["enabled"] else "stopped"
    last = f"{w['last_run_status']} ({w['last_run_id']})" if w["last_run_id"] else "-"
    return "\n".join(
        [
            f"{w['name']}: {state}, schedule {w['schedule']}, version {w['version']}",
            f"symbols: {', '.join(w['symbols'])}",
            f"last run: {last}",
        ]
    )
