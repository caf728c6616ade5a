"""`dgas api`: serve the app with uvicorn, refusing to go beyond loopback without a token."""

from __future__ import annotations

import copy
import os
import socket
from collections.abc import Mapping
from typing import Any

import uvicorn

from dgas_pipeline.api.app import create_app
from dgas_pipeline.api.auth import api_token
from dgas_pipeline.config import SchedulerConfig
from dgas_pipeline.errors import InvalidInput


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
    check_address(host, port)
    app = create_app(engine_url, token, config=config)
    uvicorn.run(app, host=host, port=port, log_config=stderr_logging(), server_header=False)


def stderr_logging() -> dict[str, Any]:
    """uvicorn's logging, with the access log on stderr too: `--json` keeps stdout for the
    command's one JSON document."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    return config


def check_address(host: str, port: int) -> None:
    """`InvalidInput` naming `--host` or `--port` when the API could not listen there: uvicorn
    would log the error and exit 3 after starting up, or serve every interface for `""`."""
    if not host.strip():
        raise InvalidInput("--host", host, "is empty (expected e.g. 127.0.0.1 or 0.0.0.0)")
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as err:
        why = getattr(err, "strerror", None) or str(err)
        raise InvalidInput(
            "--host", host, f"is not an address to serve on ({why}; expected e.g. 127.0.0.1)"
        ) from None
    family, kind, proto, _, address = found[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as err:
            raise InvalidInput(
                "--port", port, f"cannot be served on {host} ({err.strerror or err})"
            ) from None
