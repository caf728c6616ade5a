"""`create_app`: the FastAPI application over `WatchlistService` and our tables.

Status codes: 200/201/204 on success; 401 missing or wrong token (see `auth.py`); 404 no such
watchlist; 409 the name is taken, or the watchlist changed since the client read it (PATCH
carries the `version` it read); 413 a request body over 1 MiB; 422 invalid input, each problem
naming its field, in FastAPI's usual shape (`detail[].loc/msg/type`) plus `field`, e.g.
`symbols[1]`, with the value it was given shortened. Bodies are strict JSON (`body.py`) read
strictly typed (`models.py`); query parameters likewise (`query.py`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from dgas_pipeline import clock
from dgas_pipeline.api.access_log import mask_access_log
from dgas_pipeline.api.auth import BearerTokenMiddleware
from dgas_pipeline.api.body import MAX_BODY_TEXT, RequestBodyMiddleware
from dgas_pipeline.api.models import (
    FieldProblems,
    Problem,
    WatchlistCreate,
    WatchlistOut,
    WatchlistUpdate,
)
from dgas_pipeline.api.problems import (
    echo,
    from_invalid_input,
    from_request_error,
    invalid,
    line,
    refused,
)
from dgas_pipeline.api.query import WHOLE_NUMBER, known_query_parameters
from dgas_pipeline.config import SchedulerConfig, load_config
from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.location import market_for
from dgas_pipeline.market import next_launch
from dgas_pipeline.store import repositories as repo
from dgas_pipeline.watchlists.errors import VersionConflict, WatchlistExists, WatchlistNotFound
from dgas_pipeline.watchlists.limits import MAX_VERSION
from dgas_pipeline.watchlists.service import NAME_PATTERN, WatchlistService

API_VERSION = "1"
RECENT_RUNS = 10

WatchlistName = Annotated[
    str,
    Path(
        description="The watchlist's name.",
        json_schema_extra={"pattern": NAME_PATTERN, "minLength": 1, "maxLength": 64},
    ),
]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing or wrong bearer token"},
    413: {"model": Problem, "description": f"Request body over {MAX_BODY_TEXT}"},
    422: {"model": FieldProblems, "description": "Invalid input; each problem names its field"},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "No such watchlist"}
}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "Name taken, or changed since read"}
}


def create_app(
    engine_url: str, token: str | None = None, *, config: SchedulerConfig | None = None
) -> FastAPI:
    """The API over the tables at `engine_url` (migrated here if needed).

    With a `token`, every request but `/openapi.json` must carry `Authorization: Bearer
    <token>`. Whether a token is *required* depends on where the app is served: see
    `auth.api_token`, which `dgas api` applies before calling this.
    """
    config = config or load_config()
    market = market_for(config)
    service = WatchlistService.open(engine_url, market)
    engine = service.engine

    app = FastAPI(
        title="dgas watchlists",
        version=API_VERSION,
        description=__doc__,
        # The interactive pages load their scripts from a CDN; the JSON document is enough.
        docs_url=None,
        redoc_url=None,
        dependencies=[
            # Documents the bearer scheme in OpenAPI; the check itself is the middleware's.
            Depends(HTTPBearer(auto_error=False, description="DGAS_API_TOKEN")),
            Depends(known_query_parameters),
        ],
        responses=_ERRORS,
    )
    # The last added runs first: the token, then the body, then routing.
    app.add_middleware(RequestBodyMiddleware)
    if token:
        app.add_middleware(BearerTokenMiddleware, token=token)
    mask_access_log()
    _add_error_handlers(app)

    @app.get("/watchlists", response_model=list[WatchlistOut], tags=["watchlists"])
    def list_watchlists() -> list[dict[str, Any]]:
        return [w.to_json() for w in service.list_all()]

    @app.post(
        "/watchlists",
        status_code=201,
        response_model=WatchlistOut,
        responses=_CONFLICT,
        tags=["watchlists"],
    )
    def create_watchlist(payload: WatchlistCreate) -> dict[str, Any]:
        return service.add(payload).to_json()

    @app.get(
        "/watchlists/{name}",
        response_model=WatchlistOut,
        responses=_NOT_FOUND,
        tags=["watchlists"],
    )
    def get_watchlist(name: WatchlistName) -> dict[str, Any]:
        return service.show(name).to_json()

    @app.patch(
        "/watchlists/{name}",
        response_model=WatchlistOut,
        responses={**_NOT_FOUND, **_CONFLICT},
        tags=["watchlists"],
    )
    def update_watchlist(name: WatchlistName, payload: WatchlistUpdate) -> dict[str, Any]:
        return service.update(name, payload).to_json()

    @app.delete(
        "/watchlists/{name}",
        status_code=204,
        response_class=Response,
        responses={**_NOT_FOUND, **_CONFLICT},
        tags=["watchlists"],
    )
    def delete_watchlist(
        name: WatchlistName,
        version: Annotated[
            int | None,
            Query(ge=1, le=MAX_VERSION, description="Delete only if still at this version."),
            WHOLE_NUMBER,
        ] = None,
    ) -> Response:
        service.remove(name, version)
        return Response(status_code=204)

    @app.post(
        "/watchlists/{name}/start",
        response_model=WatchlistOut,
        responses=_NOT_FOUND,
        tags=["watchlists"],
    )
    def start_watchlist(name: WatchlistName) -> dict[str, Any]:
        return service.start(name).to_json()

    @app.post(
        "/watchlists/{name}/stop",
        response_model=WatchlistOut,
        responses=_NOT_FOUND,
        tags=["watchlists"],
    )
    def stop_watchlist(name: WatchlistName) -> dict[str, Any]:
        return service.stop(name).to_json()

    @app.get("/status", tags=["status"])
    def status() -> dict[str, Any]:
        """Scheduler state, the next planned launch and the last runs, from our tables."""
        upcoming = next_launch(market, clock.now(), config.plan_settings)
        with engine.connect() as conn:
            state = repo.get_scheduler_state(conn) or {"status": "IDLE"}
            runs = repo.recent_runs(conn, limit=RECENT_RUNS)
        return {
            "scheduler_state": _plain(state),
            "next_launch": upcoming.to_json() if upcoming else None,
            "recent_runs": [_plain(r) for r in runs],
        }

    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def _routing(request: Request, err: StarletteHTTPException) -> Response:
        # No route for the path (404), or not for the method (405): name which, like the rest.
        if err.status_code == 405:
            field, message = "method", f"{request.method} is not allowed on {request.url.path}"
        elif err.status_code == 404:
            field, message = "path", f"{echo(request.url.path)} is not a path of this API"
        else:
            return await http_exception_handler(request, err)
        response = refused(err.status_code, field, f"{field}: {message}")
        response.headers.update(err.headers or {})  # 405's `Allow`
        return response

    @app.exception_handler(WatchlistNotFound)
    async def _not_found(_: Request, err: WatchlistNotFound) -> JSONResponse:
        return refused(404, err.field, line(err))

    @app.exception_handler(WatchlistExists)
    async def _exists(_: Request, err: WatchlistExists) -> JSONResponse:
        return refused(409, err.field, line(err))

    @app.exception_handler(VersionConflict)
    async def _conflict(_: Request, err: VersionConflict) -> JSONResponse:
        return refused(409, err.field, line(err), current_version=err.current_version)

    @app.exception_handler(InvalidInput)
    async def _invalid(_: Request, err: InvalidInput) -> JSONResponse:
        return invalid(from_invalid_input(err))

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(_: Request, err: RequestValidationError) -> JSONResponse:
        return invalid([p for e in err.errors() for p in from_request_error(e)])


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.astimezone(UTC).isoformat().replace("+00:00", "Z") if isinstance(v, datetime) else v)
        for k, v in row.items()
    }
