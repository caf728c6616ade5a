"""`dgas api`: serve the watchlist REST API until stopped."""

from __future__ import annotations

import argparse
from typing import Any

from dgas_pipeline.api.server import serve
from dgas_pipeline.config import load_config
from dgas_pipeline.location import tables_url


def cmd_api(args: argparse.Namespace) -> dict[str, Any]:
    config = load_config(args.config)
    serve(args.host, args.port, engine_url=tables_url(config), config=config)
    return {"host": args.host, "port": args.port, "stopped": True}


def render_api(result: dict[str, Any]) -> str:
    return f"api on {result['host']}:{result['port']} stopped"
