"""Bearer-token authentication for the API, and when a token is required.

Checked in ASGI middleware, before routing and before the body is read or parsed: a request
with a missing or wrong token gets 401 whatever else is wrong with it, and changes nothing.
The token is compared with `hmac.compare_digest`, whose time does not depend on where the
first differing byte is.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Mapping

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.secrets import API_TOKEN_ENV as TOKEN_ENV

MIN_TOKEN_LENGTH = 16
# The API's description is not a secret; clients (and schemathesis) read it to learn the API.
OPEN_PATHS = frozenset({"/openapi.json"})


def is_loopback(host: str) -> bool:
    """Whether binding to `host` keeps the API on this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def api_token(host: str, env: Mapping[str, str] = os.environ) -> str | None:
    """The token the API requires when served on `host`: `DGAS_API_TOKEN`.

    Beyond loopback it is mandatory (and must not be trivially short); on loopback it is
    optional, but enforced when set.
    """
    token = env.get(TOKEN_ENV, "")
    if not token.strip():
        if is_loopback(host):
            return None
        raise InvalidInput(
            TOKEN_ENV,
            "<not set>",
            f"is required to serve on {host}, beyond loopback (set it to a random secret; "
            "clients send 'Authorization: Bearer <token>'), or serve on 127.0.0.1",
        )
    if not is_loopback(host) and len(token) < MIN_TOKEN_LENGTH:
        raise InvalidInput(
            TOKEN_ENV,
            "<not shown>",
            f"is shorter than {MIN_TOKEN_LENGTH} characters: too easy to guess for an API "
            f"served on {host}",
        )
    return token


class BearerTokenMiddleware:
    """Answer 401 to every request but `OPEN_PATHS` unless it carries `Bearer <token>`."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        needs_token = scope["type"] == "http" and scope["path"] not in OPEN_PATHS
        if needs_token and not self._authorized(scope):
            response = JSONResponse(
                {
                    "detail": "Authorization: missing or wrong bearer token "
                    "(expected the header Authorization: Bearer <token>)",
                    "field": "Authorization",
                },
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        for key, value in scope["headers"]:
            if key == b"authorization":
                scheme, _, credentials = value.partition(b" ")
                return scheme.lower() == b"bearer" and hmac.compare_digest(
                    credentials.strip(), self._expected
                )
        return False
