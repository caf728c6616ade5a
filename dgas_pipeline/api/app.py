"""`create_app`: the FastAPI application over `WatchlistService` and our tables.

Status codes: 200/201/204 on success; 401 missing or wrong token (see `auth.py`); 404 no such
watchlist; 409 the name is taken, or the watchlist changed since the client read it (PATCH
carries the `version` it read); 422 invalid input, each problem naming its field, in
FastAPI's usual shape (`detail[].loc/msg/type`) plus `field`, e.g. `symbols[1]`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer
from pydantic import BaseModel

from dgas_pipeline.api.auth import BearerTokenMiddleware
from dgas_pipeline.config import SchedulerConfig, load_config
from dgas_pipeline.errors import InvalidInput, InvalidInputs, field_path
from dgas_pipeline.market import next_launch
from dgas_pipeline.store import repositories as repo
from dgas_pipeline.store.engine import ensure_schema, make_engine
from dgas_pipeline.watchlists.commands import market_for
from dgas_pipeline.watchlists.errors import VersionConflict, WatchlistExists, WatchlistNotFound
from dgas_pipeline.watchlists.service import (
    MAX_VERSION,
    NAME_PATTERN,
    WatchlistCreate,
    WatchlistService,
    WatchlistUpdate,
)

API_VERSION = "1"
RECENT_RUNS = 10
_MAX_VALUE_REPR = 120

WatchlistName = Annotated[
    str,
    Path(
        description="The watchlist's name.",
        json_schema_extra={"pattern": NAME_PATTERN, "minLength": 1, "maxLength": 64},
    ),
]


class WatchlistOut(BaseModel):
    id: int
    name: str
    symbols: list[str]
    schedule: str
    enabled: bool
    version: int
    created_at: datetime
    updated_at: datetime
    last_run_id: str | None
    last_run_status: str | None
    last_run_at: datetime | None


class Problem(BaseModel):
    detail: str
    field: str | None = None
    current_version: int | None = None


class FieldProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str
    field: str


class FieldProblems(BaseModel):
    detail: list[FieldProblem]


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing or wrong bearer token"},
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
    ensure_schema(engine_url)
    engine = make_engine(engine_url)
    service = WatchlistService(engine, market)

    app = FastAPI(
        title="dgas watchlists",
        version=API_VERSION,
        description=__doc__,
        # The interactive pages load their scripts from a CDN; the JSON document is enough.
        docs_url=None,
        redoc_url=None,
        # Documents the bearer scheme in OpenAPI; the check itself is the middleware's.
        dependencies=[Depends(HTTPBearer(auto_error=False, description="DGAS_API_TOKEN"))],
        responses=_ERRORS,
    )
    if token:
        app.add_middleware(BearerTokenMiddleware, token=token)
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
        upcoming = next_launch(market, datetime.now(UTC), config.plan_settings)
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
    @app.exception_handler(WatchlistNotFound)
    async def _not_found(_: Request, err: WatchlistNotFound) -> JSONResponse:
        return JSONResponse({"detail": str(err), "field": err.field}, status_code=404)

    @app.exception_handler(WatchlistExists)
    async def _exists(_: Request, err: WatchlistExists) -> JSONResponse:
        return JSONResponse({"detail": str(err), "field": err.field}, status_code=409)

    @app.exception_handler(VersionConflict)
    async def _conflict(_: Request, err: VersionConflict) -> JSONResponse:
        body = {"detail": str(err), "field": err.field, "current_version": err.current_version}
        return JSONResponse(body, status_code=409)

    @app.exception_handler(InvalidInput)
    async def _invalid(_: Request, err: InvalidInput) -> JSONResponse:
        problems = err.problems if isinstance(err, InvalidInputs) else [err]
        detail = [_problem([p.field], p.field, str(p)) for p in problems]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(_: Request, err: RequestValidationError) -> JSONResponse:
        detail = [p for e in err.errors() for p in _request_problems(e)]
        return JSONResponse({"detail": detail}, status_code=422)


def _request_problems(error: dict[str, Any]) -> list[dict[str, Any]]:
    """One FastAPI/pydantic error as problems in our form: the field, then what is wrong."""
    source, *loc = error["loc"]
    raised = (error.get("ctx") or {}).get("error")
    if isinstance(raised, InvalidInput):
        # A validator of ours that knows the precise field (`symbols[2]`) wins.
        problems = raised.problems if isinstance(raised, InvalidInputs) else [raised]
        return [_problem([source, p.field], p.field, str(p)) for p in problems]
    field = field_path("", loc) or str(source)
    kind = error["type"]
    if kind == "missing":
        message = f"{field}: is required but missing"
    elif kind == "extra_forbidden":
        # The value of a mistyped key may be a secret: name the key only.
        message = f"{field}: is not a known field"
    elif kind == "json_invalid":
        field = str(source)
        message = f"{field}: is not valid JSON ({(error.get('ctx') or {}).get('error', '')})"
    else:
        shown = repr(error.get("input"))
        if len(shown) > _MAX_VALUE_REPR:
            shown = shown[: _MAX_VALUE_REPR - 3] + "..."
        message = f"{field}: {shown} {error['msg']}"
    return [_problem([source, *loc], field, message, kind)]


def _problem(loc: list[Any], field: str, message: str, kind: str = "value_error") -> dict[str, Any]:
    return {
        "loc": [str(p) if not isinstance(p, int) else p for p in loc],
        "msg": message,
        "type": kind,
        "field": field,
    }


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.astimezone(UTC).isoformat().replace("+00:00", "Z") if isinstance(v, datetime) else v)
        for k, v in row.items()
    }
