"""Every error line is bounded, whatever value it shows: cut with an ellipsis, in bounded time."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from dgas_pipeline.errors import (
    EXPECTED_MAX,
    FIELD_MAX,
    MAX_LINES,
    SHOWN_MAX,
    InvalidInput,
    InvalidInputs,
    nested,
    shown,
)


def _shared_bomb(levels: int) -> list[Any]:
    """A list of 9**levels strings once expanded, built from shared references (as YAML
    aliases are): `repr` of it would never finish."""
    node: list[Any] = ["lol"] * 9
    for _ in range(levels):
        node = [node] * 9
    return node


# (value, its exact rendering)
SHORT = [
    pytest.param("BRK B", "'BRK B'", id="text"),
    pytest.param(None, "None", id="none"),
    pytest.param(1.5, "1.5", id="float"),
    pytest.param(True, "True", id="bool"),
    pytest.param(date(2026, 12, 8), "datetime.date(2026, 12, 8)", id="date"),
    pytest.param("x" * SHOWN_MAX, repr("x" * SHOWN_MAX)[:SHOWN_MAX - 1] + "…", id="exactly-80"),
    pytest.param(2**63 - 1, "9223372036854775807", id="int64"),
]  # fmt: skip


@pytest.mark.parametrize(("value", "rendering"), SHORT)
def test_short_values_are_shown_as_repr(value: Any, rendering: str) -> None:
    assert shown(value) == rendering


LONG = [
    pytest.param("k" * 1_000_000, "'kkkk", id="a-megabyte-of-text"),
    pytest.param("é\n" * 10_000, "'é\\n", id="escaped-text"),
    pytest.param(10**5000, "<a number of about 5001 digits>", id="5001-digit-int"),
    pytest.param(-(10**400), "<a negative number of about", id="negative-401-digits"),
    pytest.param(list(range(100_000)), "[0, 1, 2", id="long-list"),
    pytest.param({str(i): i for i in range(100_000)}, "{'0': 0", id="big-mapping"),
    pytest.param(_shared_bomb(30), "[[[", id="aliases-expanding-to-9-to-the-31"),
    pytest.param(b"\xff" * 10_000, "b'\\xff", id="bytes"),
]  # fmt: skip


@pytest.mark.timeout(10)
@pytest.mark.parametrize(("value", "start"), LONG)
def test_long_values_are_cut_to_the_limit_in_bounded_time(value: Any, start: str) -> None:
    text = shown(value)
    assert len(text) <= SHOWN_MAX
    assert text.startswith(start)
    line = str(InvalidInput("symbols[0]", value, "is not a ticker"))
    assert line.startswith(f"symbols[0]: {start}")
    assert line.endswith(" is not a ticker")


def test_a_long_field_and_a_long_expectation_are_cut_too() -> None:
    line = str(InvalidInput("a." * 10_000, "v", "x" * 100_000))
    assert len(line) <= FIELD_MAX + SHOWN_MAX + EXPECTED_MAX + 3
    assert line.count("…") == 2


def test_a_report_lists_at_most_the_limit_and_counts_the_rest() -> None:
    problems = [InvalidInput(f"symbols[{i}]", "ﬀ", "is not a ticker") for i in range(1000)]
    lines = InvalidInputs(problems).lines
    assert len(lines) == MAX_LINES + 1
    assert lines[-1] == (
        f"symbols[{MAX_LINES}]: … and {1000 - MAX_LINES - 1} more problems not shown "
        f"(fix the {MAX_LINES} above first)"
    )
    assert len(InvalidInputs(problems[:MAX_LINES]).lines) == MAX_LINES


@pytest.mark.parametrize(
    ("inner", "fields"),
    [
        (InvalidInput("symbols[0]", "x", "bad"), ["watchlists[2].symbols[0]"]),
        (InvalidInput("", [1], "bad"), ["watchlists[2]"]),
        (
            InvalidInputs([InvalidInput("name", "a b", "bad"), InvalidInput("x", 1, "bad")]),
            ["watchlists[2].name", "watchlists[2].x"],
        ),
    ],
)
def test_nested_problems_are_named_from_the_top_of_the_file(
    inner: InvalidInput, fields: list[str]
) -> None:
    assert [p.field for p in nested("watchlists[2]", inner)] == fields
