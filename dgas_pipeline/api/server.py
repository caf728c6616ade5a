"""`dgas api`: serve the app with uvicorn, refusing to go beyond loopback without a token."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from typing import Any

import uvicorn

from dgas_pipeline.api.app import create_app
from dgas_pipeline.api.auth import api_token
from dgas_pipeline.config import SchedulerConfig


def serve(
    host: str,
    port: int,
    *,
    engine_url: str,
    config: SchedulerConfig | None = None,
    env: Mapping[str, str] = os.environ,
) -> None:
    """Run the API until interrupted. The token check comes first: no token, no socket."""
    token = api_token(host, env)
    app = create_app(engine_url, token, config=config)
    uvicorn.run(app, host=host, port=port, log_config=stderr_logging(), server_header=False)


def stderr_logging() -> dict[str, Any]:
    """uvicorn's logging, with the access log on stderr too: `--json` keeps stdout for the
    command's one JSON document."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    return config
