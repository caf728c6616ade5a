"""Request bodies: at most `MAX_BODY_BYTES`, and JSON that means one thing.

ASGI middleware, inside the token check and before routing: a body over the limit is refused
with 413 as soon as its `Content-Length` says so, or, for a chunked body without a length, as
soon as the bytes received pass the limit; nothing beyond the limit is ever held in memory.

A JSON body must be UTF-8 and JSON as RFC 8259 defines it, read strictly, because Python's
`json.loads` (which FastAPI uses) is lenient where leniency changes meaning: it accepts `NaN`
and `Infinity`, keeps the last of two equal keys (`{"version": 1, "version": 2}`), reads
`1e999` as infinity, and recurses on nesting until it overflows the stack (a 400 without a
reason). Here each of those is a 422 naming `body`; the body that passes is handed on
byte for byte, so FastAPI's own parse of it cannot disagree.
"""

from __future__ import annotations

import json
import math
from email.message import Message as MimeHeader
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dgas_pipeline.api.problems import invalid, problem, refused, shorten

MAX_BODY_BYTES = 1024 * 1024
MAX_BODY_TEXT = "1 MiB"
# A watchlist body is an object holding lists of strings: depth 2. Deeper is not ours.
MAX_JSON_DEPTH = 32
# Python converts at most 4300 digits (more would take quadratic time); no number of ours
# needs more than 10, so a longer one is refused as a body problem before it is converted.
MAX_NUMBER_DIGITS = 100


class BodyProblem(ValueError):
    """Why a body is not JSON we accept; the message says it to the client."""


class RequestBodyMiddleware:
    """Refuse bodies over `MAX_BODY_BYTES` (413) and JSON bodies that are not strict JSON (422)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > MAX_BODY_BYTES:
            await _too_large(f"{declared} bytes")(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away: nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                await _too_large(f"more than {MAX_BODY_BYTES} bytes")(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body and _is_json(scope):
            try:
                parse_json(body)
            except BodyProblem as err:
                await invalid([problem(["body"], "body", f"body: {err}", "json_invalid")])(
                    scope, receive, send
                )
                return
        await self.app(scope, _replay(body, receive), send)


def parse_json(body: bytes) -> Any:
    """`body` as JSON, or `BodyProblem` saying what is wrong with it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise BodyProblem(
            f"is not UTF-8 text (byte {err.start}: {body[err.start : err.start + 1]!r}); "
            "JSON must be UTF-8"
        ) from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object,
            parse_constant=_constant,
            parse_float=_float,
            parse_int=_int,
        )
    except RecursionError:
        raise BodyProblem(_too_deep()) from None
    except json.JSONDecodeError as err:
        raise BodyProblem(
            f"is not valid JSON ({err.msg} at line {err.lineno} column {err.colno})"
        ) from None
    _check_tree(value)
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise BodyProblem(
                f"has the key {shorten(repr(key))} twice in one object (which one was meant?)"
            )
        found[key] = value
    return found


def _constant(name: str) -> Any:
    raise BodyProblem(f"has {name}, which is not JSON (numbers in JSON are finite)")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BodyProblem(f"has the number {shorten(text)}, too large for a 64-bit float")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise BodyProblem(
            f"has a number of {len(text.lstrip('-'))} digits (at most {MAX_NUMBER_DIGITS})"
        )
    return int(text)


def _check_tree(root: Any) -> None:
    """Depth and text, without recursion: JSON escapes can spell lone surrogates (`\\ud800`),
    which are not Unicode text and cannot even be encoded into an answer."""
    stack: list[tuple[Any, int]] = [(root, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = [*value.keys(), *value.values()]
        elif isinstance(value, list):
            children = value
        else:
            if isinstance(value, str):
                _check_text(value)
            continue
        if depth + 1 > MAX_JSON_DEPTH:
            raise BodyProblem(_too_deep())
        stack.extend((child, depth + 1) for child in children)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise BodyProblem(
            f"has the escape {text[err.start]!r} (a lone surrogate), which is not Unicode text"
        ) from None


def _too_deep() -> str:
    return f"nests arrays or objects more than {MAX_JSON_DEPTH} levels deep"


def _too_large(size: str) -> Any:
    return refused(
        413,
        "body",
        f"body: {size} is over the limit of {MAX_BODY_TEXT} ({MAX_BODY_BYTES} bytes) "
        "for a request body",
        limit_bytes=MAX_BODY_BYTES,
    )


def _content_length(scope: Scope) -> int | None:
    # The server (httptools/h11) has already refused a malformed or repeated Content-Length.
    for key, value in scope["headers"]:
        if key == b"content-length" and value.strip().isdigit():
            return int(value)
    return None


def _is_json(scope: Scope) -> bool:
    """Whether FastAPI will read this body as JSON: `application/json` or `…+json`."""
    for key, value in scope["headers"]:
        if key == b"content-type":
            header = MimeHeader()
            header["content-type"] = value.decode("latin-1")
            subtype = header.get_content_subtype()
            return header.get_content_maintype() == "application" and (
                subtype == "json" or subtype.endswith("+json")
            )
    return False


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the app the body already read, then the client's own events
    (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
