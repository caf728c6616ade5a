"""What the API reads and writes, as it appears in `/openapi.json`.

The request bodies are the watchlist service's own models (same fields, same validators, so the
API and `dgas watchlist` accept the same watchlists), read in pydantic's strict mode: over
JSON a type is a promise, and `true` as a version, `"yes"` as a boolean or `"1"` as a number
would be read as something the client did not write.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from dgas_pipeline.watchlists import service


class WatchlistCreate(service.WatchlistCreate):
    """A new watchlist."""

    model_config = ConfigDict(strict=True)


class WatchlistUpdate(service.WatchlistUpdate):
    """A change to a watchlist: the fields given change, the others stay.

    `version` is the version the client last read; the change applies only if the watchlist
    is still at that version (409 otherwise), so concurrent edits cannot overwrite each other.
    A null field means "leave as is".
    """

    model_config = ConfigDict(strict=True)


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
    limit_bytes: int | None = None


class FieldProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str
    field: str


class FieldProblems(BaseModel):
    detail: list[FieldProblem]
