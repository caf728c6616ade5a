"""Asset bodies only wire: each calls a step of `cycle/` and shows its metadata, in at most
25 lines (the docstring not counted). Read from the source with `ast`."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from dgas_pipeline_tests.defs.test_definitions import ASSETS

DEFS = Path(__file__).resolve().parents[2] / "dgas_pipeline" / "defs"
MAX_BODY_LINES = 25


def asset_bodies(source: str) -> dict[str, int]:
    """Each function decorated as an asset, nested ones included, and its body's lines."""
    return {
        node.name: body_lines(node)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef) and any(map(_is_asset, node.decorator_list))
    }


def body_lines(function: ast.FunctionDef) -> int:
    """Lines from the first statement after the docstring to the end of the function."""
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return (body[-1].end_lineno or 0) - body[0].lineno + 1 if body else 0


def _is_asset(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
    return name in ("asset", "multi_asset")


def test_every_asset_body_is_at_most_25_lines() -> None:
    found = {}
    for path in sorted(DEFS.rglob("*.py")):
        for name, lines in asset_bodies(path.read_text(encoding="utf-8")).items():
            found[f"{path.relative_to(DEFS)}:{name}"] = lines
    assert {key.split(":")[1] for key in found} == ASSETS
    too_long = {key: lines for key, lines in found.items() if lines > MAX_BODY_LINES}
    assert not too_long, f"asset bodies over {MAX_BODY_LINES} lines: {too_long}"


def _function(decorator: str, docstring: bool, statements: int) -> str:
    doc = '    """Why."""\n' if docstring else ""
    body = "".join(f"    x{i} = {i}\n" for i in range(statements))
    return f"{decorator}\ndef asset_fn():\n{doc}{body}"


@pytest.mark.parametrize(
    ("decorator", "docstring", "statements", "expected"),
    [
        ("@dg.asset", True, 25, 25),  # the docstring is not counted
        ("@dg.asset(group_name='g')", False, 26, 26),
        ("@asset", True, 1, 1),
        ("@dg.multi_asset(specs=[])", False, 3, 3),
    ],
)
def test_the_measure_counts_the_statements_after_the_docstring(
    decorator: str, docstring: bool, statements: int, expected: int
) -> None:
    inner = _function(decorator, docstring, statements)
    nested = "def factory():\n" + textwrap.indent(inner, "    ")
    assert asset_bodies(nested) == {"asset_fn": expected}


@pytest.mark.parametrize("decorator", ["@dg.op", "@dg.sensor(name='s')", "@staticmethod"])
def test_functions_that_are_not_assets_are_not_measured(decorator: str) -> None:
    assert asset_bodies(_function(decorator, True, 40)) == {}
