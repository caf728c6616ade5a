"""`dgas ui`: Dagster's UI and daemon on the instance `dgas` uses (`operate/ui.py`)."""

from __future__ import annotations

import argparse
from typing import Any

from dgas_pipeline.operate.ui import prepare_instance, serve


def cmd_ui(args: argparse.Namespace) -> dict[str, Any]:
    """Prepare the instance, then become `dagster dev`; returns only by raising InvalidInput."""
    prepare_instance(args.config)
    serve(args.host, args.port)


def render_ui(result: dict[str, Any]) -> str:
    return str(result)  # never reached: `cmd_ui` execs or raises
