"""The API's 4xx answers in one shape: `{"detail": [{loc, msg, type, field}]}` for invalid input
(FastAPI's usual shape plus `field`, e.g. `symbols[1]`), `{"detail", "field"}` for the rest.

Every value or key a client sent is echoed shortened (`echo`): a 1 MiB string in a body must
not come back in the answer, nor be written to a log by a client that prints its errors.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from dgas_pipeline.errors import MAX_LINES, InvalidInput, InvalidInputs, field_path, more_problems

MAX_ECHO = 80
ELLIPSIS = "..."

# pydantic's strict-mode types, said as what was expected of a JSON value.
_EXPECTED = {
    "int_type": "is not a whole number (expected a JSON number such as 3, not a string, "
    "boolean or fraction)",
    "int_parsing": "is not a whole number (expected digits only, e.g. 3)",
    "int_from_float": "is not a whole number (expected e.g. 3, without a fraction)",
    "bool_type": "is not a boolean (expected true or false, not a string or number)",
    "string_type": "is not a string (expected text in double quotes)",
    "list_type": "is not a list (expected [...])",
    "model_type": "is not a JSON object (expected {...})",
    "model_attributes_type": "is not a JSON object (expected {...})",
    "dict_type": "is not a JSON object (expected {...})",
}


def echo(value: Any) -> str:
    """`value` as shown back to the client: its repr, at most `MAX_ECHO` characters."""
    return shorten(repr(value))


def shorten(text: str) -> str:
    """`text` cut to `MAX_ECHO` characters, the cut marked with an ellipsis."""
    if len(text) <= MAX_ECHO:
        return text
    return text[: MAX_ECHO - len(ELLIPSIS)] + ELLIPSIS


def invalid(problems: list[dict[str, Any]]) -> JSONResponse:
    """A 422 listing `problems` (each from `problem`): at most `MAX_LINES` of them and one
    counting the rest, as the CLI does, so that an answer stays small whatever was sent."""
    rest = problems[MAX_LINES:]
    if rest:
        first = rest[0]
        summary = problem(first["loc"], first["field"], more_problems(first["field"], len(rest)))
        problems = [*problems[:MAX_LINES], {**summary, "type": "too_many_problems"}]
    return JSONResponse({"detail": problems}, status_code=422)


def refused(status: int, field: str, message: str, **extra: Any) -> JSONResponse:
    """A 4xx about one field that is not a validation problem (404, 409, 413)."""
    return JSONResponse({"detail": message, "field": field, **extra}, status_code=status)


def problem(loc: list[Any], field: str, message: str, kind: str = "value_error") -> dict[str, Any]:
    """One problem: where (`loc`, e.g. `["body", "version"]`), which `field`, and the message,
    which starts with the field."""
    return {
        "loc": [p if isinstance(p, int) else shorten(str(p)) for p in loc],
        "msg": message,
        "type": kind,
        "field": shorten(field),
    }


def from_invalid_input(err: InvalidInput, source: str | None = None) -> list[dict[str, Any]]:
    """The problems an `InvalidInput` of ours carries, each with its value shortened."""
    found = err.problems if isinstance(err, InvalidInputs) else [err]
    return [problem([source, p.field] if source else [p.field], p.field, line(p)) for p in found]


def line(err: InvalidInput) -> str:
    """`err`'s one line (`field: value expected`), its field and value shortened."""
    return f"{shorten(err.field)}: {echo(err.value)} {err.expected}"


def from_request_error(error: dict[str, Any]) -> list[dict[str, Any]]:
    """One FastAPI/pydantic error (`RequestValidationError.errors()`) as problems of ours."""
    source, *loc = error["loc"]
    raised = (error.get("ctx") or {}).get("error")
    if isinstance(raised, InvalidInput):
        # A validator of ours that knows the precise field (`symbols[2]`) wins.
        return from_invalid_input(raised, str(source))
    field = field_path("", loc) or str(source)
    shown = shorten(field)
    kind = error["type"]
    if kind == "missing":
        message = f"{shown}: is required but missing"
    elif kind == "extra_forbidden":
        # The value of a mistyped key may be a secret: name the key only.
        known = "query parameter" if source == "query" else "field"
        message = f"{shown}: is not a known {known}"
    elif kind == "json_invalid":
        field = shown = str(source)
        message = f"{shown}: is not valid JSON ({(error.get('ctx') or {}).get('error', '')})"
        loc = []
    elif isinstance(error.get("input"), bytes) and field == "body":
        message = f"{shown}: is not JSON (send it with Content-Type: application/json)"
    else:
        expected = _EXPECTED.get(kind) or str(error["msg"]).removeprefix("Value error, ")
        message = f"{shown}: {echo(error.get('input'))} {expected}"
    return [problem([source, *loc], field, message, kind)]
