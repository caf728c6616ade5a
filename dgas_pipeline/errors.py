"""Errors a person can act on.

Every bad input (config, overrides, CLI flags, bars, alert rules) ends as an `InvalidInput`
naming the field, the value and what was expected, so the CLI can print one line and exit 2
instead of a traceback.

Every message is bounded, whatever the input: a value is shown as at most `SHOWN_MAX`
characters (a 1 MiB string, a list expanded from YAML aliases or a 5,000-digit integer is cut
with an ellipsis, without first building its whole text), a field path and an expectation are
cut the same way, and a report lists at most `MAX_LINES` problems.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:  # only annotated: `dgas --help` imports this module, not pydantic
    from pydantic import ValidationError

SHOWN_MAX: Final = 80
"""Characters of a value shown in a message; the rest is cut with an ellipsis."""
FIELD_MAX: Final = 160
EXPECTED_MAX: Final = 400
MAX_LINES: Final = 50
"""Problems listed in one report; the rest are counted on one more line."""
ELLIPSIS: Final = "…"
# Integers with more bits than this are described, not printed: `repr` of a huge int is
# quadratic and refuses beyond 4,300 digits.
_INT_BITS_SHOWN: Final = 256


class InvalidInput(ValueError):
    """Bad input from a person or a file: field, value and expectation, one line each."""

    def __init__(self, field: str, value: Any, expected: str) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        super().__init__(
            f"{cut(field, FIELD_MAX)}: {shown(value)} {cut(str(expected), EXPECTED_MAX)}"
        )

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
        self.args = ("; ".join(self.lines),)

    def __str__(self) -> str:
        return self.args[0]

    @property
    def lines(self) -> list[str]:
        lines = [str(p) for p in self.problems[:MAX_LINES]]
        rest = self.problems[MAX_LINES:]
        if rest:
            lines.append(more_problems(rest[0].field, len(rest)))
        return lines


def more_problems(field: str, count: int) -> str:
    """The line that stands for the `count` problems beyond `MAX_LINES`, from `field` on."""
    return (
        f"{cut(field, FIELD_MAX)}: {ELLIPSIS} and {count - 1} more problems not shown "
        f"(fix the {MAX_LINES} above first)"
    )


def cut(text: str, limit: int) -> str:
    """`text`, or its first `limit - 1` characters and an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def shown(value: Any) -> str:
    """`repr(value)` at most `SHOWN_MAX` characters long, computed in bounded time."""
    if isinstance(value, str):
        text = repr(value[: SHOWN_MAX + 1])
        if len(value) > SHOWN_MAX:
            text = text[:-1]  # the closing quote of the slice: the value goes on
    elif isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > _INT_BITS_SHOWN:
            digits = int(value.bit_length() * 0.30103) + 1
            return f"<a {'negative ' if value < 0 else ''}number of about {digits} digits>"
        text = repr(value)
    else:
        text = _REPR.repr(value)
    return cut(text, SHOWN_MAX)


def _bounded_repr() -> reprlib.Repr:
    short = reprlib.Repr()
    short.maxlevel = 3
    short.maxtuple = short.maxlist = short.maxarray = short.maxset = short.maxfrozenset = 8
    short.maxdeque = short.maxdict = 8
    short.maxstring = short.maxother = SHOWN_MAX
    short.maxlong = 40
    return short


_REPR: Final = _bounded_repr()


def nested(prefix: str, err: InvalidInput) -> list[InvalidInput]:
    """`err`'s problems with their fields inside `prefix` (`symbols[0]` -> `lists[2].symbols[0]`).

    For an item checked on its own and reported as part of a file: the person reads the path
    from the file's top.
    """
    problems = err.problems if isinstance(err, InvalidInputs) else [err]
    return [
        InvalidInput(f"{prefix}.{p.field}" if p.field else prefix, p.value, p.expected)
        for p in problems
    ]


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
