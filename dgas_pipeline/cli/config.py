"""`dgas config validate`: a config file and the files it names, every error with its field."""

from __future__ import annotations

import argparse
from typing import Any

from dgas_pipeline.cli.environment import check_files_of
from dgas_pipeline.config import load_config


def cmd_config_validate(args: argparse.Namespace) -> dict[str, Any]:
    path = args.file or args.config
    config = check_files_of(load_config(path))
    return {
        "valid": True,
        "file": str(path) if path else None,
        "config": config.model_dump(mode="json"),
    }


def render_config(result: dict[str, Any]) -> str:
    source = result["file"] or "built-in defaults"
    return f"{source}: valid"
