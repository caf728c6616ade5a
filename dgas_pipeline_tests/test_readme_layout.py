"""The README's layout table is how a newcomer finds where a rule lives: it lists every module
and package of dgas_pipeline, and nothing that no longer exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dgas_pipeline"
ROW = re.compile(r"^\| `([\w/.]+)` \|", re.MULTILINE)


def _listed() -> set[str]:
    return set(ROW.findall((ROOT / "README.md").read_text(encoding="utf-8")))


def _modules() -> set[str]:
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        if "migrations" in relative.parts or path.name == "__init__.py":
            continue
        found.add(relative.as_posix())
    return found


def test_every_module_of_the_package_has_a_row_in_the_readme_layout_table() -> None:
    missing = sorted(_modules() - _listed())
    assert not missing, f"modules missing from README's layout table: {missing}"


def test_every_python_row_of_the_layout_table_names_a_module_that_exists() -> None:
    rows = {row for row in _listed() if row.endswith(".py") and not row.startswith("bench/")}
    stale = sorted(
        row for row in rows if not (PACKAGE / row).is_file() and not (ROOT / row).is_file()
    )
    assert not stale, f"README rows naming no module: {stale}"
