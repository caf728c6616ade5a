"""Query parameters, read strictly: each named in the operation, given once, typed exactly.

FastAPI alone ignores unknown parameters (`?token=...` would look accepted), keeps the last of
a repeated one (`?version=1&version=2`) and reads `+1`, ` 1` or `1_0` as numbers. A client
that sends any of these meant something the API would not do: 422, naming the parameter.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BeforeValidator

_DIGITS = re.compile(r"[0-9]+", re.ASCII)


def _whole_number(value: Any) -> Any:
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise ValueError("is not a whole number (expected digits only, e.g. 3)")
    return value


# Marks a query integer (`Annotated[int, Query(...), WHOLE_NUMBER]`): its text must be decimal
# digits. Outside the `int`, so `Query`'s bounds still reach the OpenAPI document.
WHOLE_NUMBER = BeforeValidator(_whole_number)


def known_query_parameters(request: Request) -> None:
    """An app-wide dependency: refuse parameters the operation does not declare, and any
    parameter given twice. An unknown parameter's value is not shown: it may be a secret
    (`?token=...`), which belongs in the `Authorization` header only."""
    route = request.scope.get("route")
    declared = (
        {p.alias for p in route.dependant.query_params} if isinstance(route, APIRoute) else set()
    )
    given: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        given.setdefault(name, []).append(value)
    errors = [
        {"type": "extra_forbidden", "loc": ("query", name), "msg": "", "input": None}
        if name not in declared
        else {
            "type": "value_error",
            "loc": ("query", name),
            "msg": f"is given {len(values)} times (expected once)",
            "input": values,
        }
        for name, values in given.items()
        if name not in declared or len(values) > 1
    ]
    if errors:
        raise RequestValidationError(errors)
