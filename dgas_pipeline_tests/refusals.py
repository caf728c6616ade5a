"""What every refused command must show: exit 2, one line naming the field and the value,
no traceback, and nothing stored (no file created, no table row changed).

Shared by the tables of refused instants and ranges (cli/test_ranges.py) and of refused
environments (cli/test_environment.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from dgas_pipeline.store import tables
from dgas_pipeline.store.engine import make_engine

# SQLite's write-ahead files come and go with connections: not something a command stored.
_TRANSIENT_SUFFIXES = ("-wal", "-shm", "-journal")


def assert_refused(code: int, out: str, err: str, field: str, *fragments: str) -> None:
    """Exit 2, nothing on stdout, one stderr line `dgas: <field>: ...` holding `fragments`."""
    assert "Traceback" not in err, err
    assert (code, out) == (2, ""), err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"dgas: {field}: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def files_under(root: Path) -> set[str]:
    """Every path under `root` (directories too), relative, without SQLite's transient files."""
    return {
        str(path.relative_to(root))
        for path in root.rglob("*")
        if not path.name.endswith(_TRANSIENT_SUFFIXES)
    }


def table_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of ours, in a stable order: a dump to compare."""
    with make_engine(url).connect() as conn:
        return {
            table.name: sorted((tuple(row) for row in conn.execute(sa.select(table))), key=repr)
            for table in tables.metadata.sorted_tables
        }
