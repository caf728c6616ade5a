"""What a ticker is: the one rule the config, watchlists, the CLI, the API and alert rules share.

A ticker is 1 to 10 ASCII characters: a letter, then letters and digits, in parts joined by
one `.`, `-` or `:` each. That keeps the real ones (`AAPL`, `BRK.B`, `BF-B`, Polygon's index
`I:SPX`) and refuses the rest (`BRK B`, `X/Y`, `BRK.`, `A..B`). The text is checked as written,
before any case folding: `str.upper` turns the ligature `ﬀ` into `FF` and the German `ß` into
`SS`, so a check after it would accept a ticker nobody typed. Lower case is accepted and
stored upper-cased.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

from dgas_pipeline.errors import InvalidInput, InvalidInputs

MAX_LENGTH: Final = 10
# Patterns for JSON Schemas and OpenAPI documents too, so no look-ahead: the length is
# `maxLength` there (MAX_LENGTH).
TICKER_PATTERN: Final = r"^[A-Z][A-Z0-9]*(?:[.:-][A-Z0-9]+)*$"
"""A stored ticker (upper case)."""
INPUT_PATTERN: Final = r"^[A-Za-z][A-Za-z0-9]*(?:[.:-][A-Za-z0-9]+)*$"
"""A ticker as a person may write it (either case)."""
EXPECTED: Final = (
    "is not a ticker (expected 1 to 10 ASCII letters and digits starting with a letter, "
    "parts joined by '.', '-' or ':', e.g. BRK.B, BF-B or I:SPX)"
)

_INPUT: Final = re.compile(INPUT_PATTERN)
# Spaces around a ticker in a list (`AAPL, MSFT`) are layout, not part of it; other white
# space (a no-break space, a tab inside) is not stripped and so refused.
_LAYOUT: Final = " \t"


def check_ticker(raw: Any, field: str) -> str:
    """The ticker `raw`, upper-cased; `InvalidInput` naming `field` otherwise."""
    if not isinstance(raw, str):
        # YAML reads ON, NO, YES, OFF as booleans and ~ as null: "ON" would become the ticker
        # TRUE. Only text is a ticker.
        kind = "null" if raw is None else type(raw).__name__
        raise InvalidInput(field, raw, f'is not a ticker but a YAML {kind}; quote it (e.g. "ON")')
    text = raw.strip(_LAYOUT)
    # `re` matches [A-Z] against ASCII only, and fullmatch refuses a trailing newline.
    if len(text) > MAX_LENGTH or not _INPUT.fullmatch(text):
        raise InvalidInput(field, raw, EXPECTED)
    return text.upper()


def check_stored_ticker(value: Any, field: str) -> str:
    """`value` if it is a ticker as stored (upper case, nothing around it): what providers
    are asked for. No `/` or `..` can be in one, so it can name a file safely."""
    if isinstance(value, str) and check_ticker(value, field) == value:
        return value
    raise InvalidInput(field, value, EXPECTED.replace("ASCII letters", "upper-case ASCII letters"))


def check_tickers(values: Any, field: str = "symbols") -> tuple[str, ...]:
    """A list of distinct tickers, upper-cased; every problem reported as `field[i]`."""
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise InvalidInput(field, values, "must be a list of tickers, e.g. [AAPL, MSFT]")
    problems: list[InvalidInput] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(values):
        try:
            ticker = check_ticker(raw, f"{field}[{i}]")
        except InvalidInput as err:
            problems.append(err)
            continue
        if ticker in seen:
            problems.append(
                InvalidInput(
                    f"{field}[{i}]", raw, f"is listed twice (also {field}[{seen[ticker]}])"
                )
            )
        seen.setdefault(ticker, i)
    if problems:
        raise InvalidInputs(problems)
    if not seen:
        raise InvalidInput(field, list(values), "must name at least one ticker")
    return tuple(seen)
