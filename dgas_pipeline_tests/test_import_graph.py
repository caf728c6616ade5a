"""No import cycle inside the package, deferred imports included.

An import inside a function runs when the function is called: a cycle through one is an
`ImportError` (or a half-initialised module) waiting for the first caller that imports in
the other order. Imports under `if TYPE_CHECKING:` never run and do not count. The graph is
read from the source with `ast`, so nothing is imported to build it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dgas_pipeline"


def modules(package: Path) -> dict[str, Path]:
    """Every module of `package` by dotted name (a package by its `__init__.py`)."""
    found = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports, at any depth of its code."""
    known = modules(package)
    graph = {}
    for name, path in known.items():
        is_package = path.name == "__init__.py"
        imported = _imports(ast.parse(path.read_text(encoding="utf-8")), name, is_package)
        graph[name] = {
            target
            for target in (_owner(name, known) for name in imported)
            if target is not None and target != name
        }
    return graph


def cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.add(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """Dotted names a module imports; `from X import y` names `X.y` (a submodule or not)."""
    root = module.split(".")[0]
    for node in _executed(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.split(".")[0] == root)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module, is_package)
            if base.split(".")[0] == root:
                yield from (f"{base}.{alias.name}" for alias in node.names)


def _executed(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, but not the bodies of `if TYPE_CHECKING:` (their `else:` does run)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                yield child
                yield from _executed(child)
            continue
        yield node
        yield from _executed(node)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join([*parts, *([node.module] if node.module else [])])


def _owner(name: str, known: dict[str, Path]) -> str | None:
    """The module a dotted name lives in: itself, or the nearest enclosing module. Importing
    `a.b.c` also runs `a` and `a.b`, but a parent package is not counted as imported: every
    submodule would otherwise depend on its package's `__init__`."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def test_the_package_has_no_import_cycle() -> None:
    found = cycles(import_graph(PACKAGE))
    assert not found, f"import cycles: {[sorted(cycle) for cycle in found]}"


# -- the graph itself, on packages written for the purpose -----------------------------------

PACKAGES = {
    "top-level-cycle": (
        {"a.py": "from pkg import b\n", "b.py": "from pkg.a import x\n"},
        {frozenset({"pkg.a", "pkg.b"})},
    ),
    "deferred-cycle": (
        {"a.py": "from pkg import b\n", "b.py": "def f():\n    from pkg import a\n"},
        {frozenset({"pkg.a", "pkg.b"})},
    ),
    "relative-and-plain-imports": (
        {"a.py": "from . import b\n", "b.py": "import pkg.c\n", "c.py": "from .a import x\n"},
        {frozenset({"pkg.a", "pkg.b", "pkg.c"})},
    ),
    "type-checking-only": (
        {
            "a.py": "from pkg import b\n",
            "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n",
        },
        set(),
    ),
    "type-checking-else-runs": (
        {
            "a.py": "from pkg import b\n",
            "b.py": "import typing\nif typing.TYPE_CHECKING:\n    pass\nelse:\n    import pkg.a\n",
        },
        {frozenset({"pkg.a", "pkg.b"})},
    ),
    "submodule-and-its-package": (
        {"__init__.py": "from pkg.a import x\n", "a.py": "from pkg.b import y\n", "b.py": ""},
        set(),
    ),
    "a-chain-is-no-cycle": (
        {"a.py": "from pkg import b\n", "b.py": "from pkg import c\n", "c.py": "import os\n"},
        set(),
    ),
}


@pytest.mark.parametrize(("files", "expected"), PACKAGES.values(), ids=PACKAGES.keys())
def test_cycles_are_found_through_every_kind_of_import(
    tmp_path: Path, files: dict[str, str], expected: set[frozenset[str]]
) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    for name, text in files.items():
        (package / name).write_text(text, encoding="utf-8")
    assert cycles(import_graph(package)) == expected
