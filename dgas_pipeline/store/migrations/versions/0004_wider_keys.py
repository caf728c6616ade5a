"""Key columns wide enough for the watchlist run key derived from a valid name.

A watchlist run is mirrored under `<watchlist name>:<date>`, and names are valid up to 64
characters, so its `partition_key` reaches 75 characters: PostgreSQL refused the row (SQLite
does not enforce lengths). Widened here:

- `prediction_runs.partition_key` 64 -> 128
- `prediction_runs.run_id` 128 -> 255: it is `<kind>:<partition_key>:<8>`, so it must hold
  every key the wider column can.

The other key and name columns already hold the longest value their validators allow (an
alert's notification key, `alert:<64-character rule>:<10-character ticker>:<bar start>`, is
107 of `message_key`'s 128; watchlist and rule names and channel names are at most 64).

Written by hand and frozen, like 0001: the widths are spelled out here, not imported.
Downgrading refuses, naming the table, column and row count, while a longer value is stored:
narrowing would fail on PostgreSQL anyway, and truncating would silently change keys.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, width before, width after); every one of them is NOT NULL.
WIDENED: tuple[tuple[str, str, int, int], ...] = (
    ("prediction_runs", "partition_key", 64, 128),
    ("prediction_runs", "run_id", 128, 255),
)


def upgrade() -> None:
    _resize(after=True)


def downgrade() -> None:
    for table, column, before, _after in WIDENED:
        _refuse_longer_than(table, column, before)
    _resize(after=False)


def _resize(*, after: bool) -> None:
    # Batch mode: PostgreSQL gets a plain ALTER COLUMN; SQLite, which cannot alter a column's
    # type, a rebuilt table (constraints and indexes are named, so they are carried over).
    for table in dict.fromkeys(t for t, *_ in WIDENED):
        with op.batch_alter_table(table) as batch:
            for name, column, before, wider in WIDENED:
                if name != table:
                    continue
                batch.alter_column(
                    column,
                    existing_type=sa.String(before if after else wider),
                    type_=sa.String(wider if after else before),
                    existing_nullable=False,
                )


def _refuse_longer_than(table: str, column: str, width: int) -> None:
    key = sa.column(column)
    count = (
        op.get_bind()
        .execute(
            sa.select(sa.func.count())
            .select_from(sa.table(table, key))
            .where(sa.func.length(key) > width)
        )
        .scalar_one()
    )
    if count:
        raise RuntimeError(
            f"cannot downgrade below 0004: {table}.{column} holds {count} value(s) longer than "
            f"{width} characters, which the narrower column cannot store; delete or shorten "
            "those rows first"
        )
