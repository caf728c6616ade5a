"""`dgas watchlist add|list|show|update|start|stop|remove|import`.

Thin: parse flags (or read the import file) into the service's payloads and render its
answers; all validation lives in `watchlists/service.py`, which the REST API uses too.
"""

from __future__ import annotations

import argparse
from functools import partial
from typing import Any

from dgas_pipeline.config import load_config
from dgas_pipeline.input_files import read_mapping
from dgas_pipeline.location import market_for, tables_url
from dgas_pipeline.store.tables import WATCHLIST_EVERY_BAR
from dgas_pipeline.watchlists.service import WatchlistService

IMPORT_FILE_FIELD = "watchlists_file"


# -- handlers --------------------------------------------------------------------------------


def cmd_add(args: argparse.Namespace) -> dict[str, Any]:
    payload = {
        "name": args.name,
        "symbols": _split(args.symbols),
        "schedule": WATCHLIST_EVERY_BAR if args.schedule is None else args.schedule,
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


# -- shared pieces ---------------------------------------------------------------------------


def _service(args: argparse.Namespace) -> WatchlistService:
    config = load_config(args.config)
    # The exchange clock is built only if a schedule needs checking: `list`, `show`, `start`
    # and the others never import pandas for it.
    return WatchlistService.open(tables_url(config), partial(market_for, config))


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",")]


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
