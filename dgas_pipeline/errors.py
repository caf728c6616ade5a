"""Errors a person can act on.

Every bad input (config, overrides, CLI flags, bars, alert rules) ends as an `InvalidInput`
naming the field, the value and what was expected, so the CLI can print one line and exit 2
instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError


class InvalidInput(ValueError):
    """Bad input from a person or a file: field, value and expectation, one line each."""

    def __init__(self, field: str, value: Any, expected: str) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        super().__init__(f"{field}: {value!r} {expected}")

    @property
    def lines(self) -> list[str]:
        return [str(self)]


class InvalidInputs(InvalidInput):
    """Several problems found at once: a person fixes a file in one pass, not one per run."""

    def __init__(self, problems: list[InvalidInput]) -> None:
        if not problems:
            raise ValueError("InvalidInputs needs at least one problem")
        self.problems = problems
        first = problems[0]
        super().__init__(first.field, first.value, first.expected)
        self.args = ("; ".join(str(p) for p in problems),)

    def __str__(self) -> str:
        return self.args[0]

    @property
    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


def field_path(prefix: str, loc: Iterable[str | int]) -> str:
    """Render a pydantic location as `config.symbols[3]`, the way a person reads a file."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


_MISSING = object()


def from_validation_error(err: ValidationError, prefix: str) -> InvalidInputs:
    """Translate pydantic's report into our one-line-per-problem form."""
    problems: list[InvalidInput] = []
    for e in err.errors(include_url=False):
        raised = (e.get("ctx") or {}).get("error")
        if isinstance(raised, InvalidInput):
            # A validator that already knows the precise field (e.g. a list index) wins.
            problems.extend(raised.problems if isinstance(raised, InvalidInputs) else [raised])
            continue
        loc = [p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        value = e.get("input", _MISSING)
        message = e["msg"]
        if e["type"] == "extra_forbidden":
            # The value of a mistyped key may well be a secret: name the key, not its value.
            value, message = "<not shown>", "is not a known field"
        elif e["type"] == "missing":
            value, message = None, "is required but missing"
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        if isinstance(value, dict | list) or value is _MISSING:
            value = "" if value is _MISSING else value
        problems.append(InvalidInput(field_path(prefix, loc), value, message))
    return InvalidInputs(problems)
