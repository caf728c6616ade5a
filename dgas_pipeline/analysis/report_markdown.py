"""Markdown pieces the reports share: tables, numbers people read, PNGs inline.

Dagster renders Markdown metadata in the UI, and an image given as a `data:` URI shows inline
there without any file server, which is how the cycle's signal chart is shown too.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Sequence
from typing import Any


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A GitHub-flavoured table; cells are given as text (pipes escaped so none splits a row)."""
    lines = [_row(headers), "|" + "---|" * len(headers)]
    lines.extend(_row(row) for row in rows)
    return "\n".join(lines)


def png_markdown(png: bytes, alt: str) -> str:
    """The image inline, as a `data:` URI (no file needs to be served for the UI to show it)."""
    encoded = base64.b64encode(png).decode("ascii")
    return f"![{alt}](data:image/png;base64,{encoded})"


def percent(value: Any) -> str:
    """`62%`, or `-` where there is no value (an empty bucket has no win rate)."""
    return "-" if _missing(value) else f"{float(value):.0%}"


def number(value: Any, digits: int = 2) -> str:
    """A fixed number of decimals, or `-` where there is no value."""
    return "-" if _missing(value) else f"{float(value):.{digits}f}"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"
