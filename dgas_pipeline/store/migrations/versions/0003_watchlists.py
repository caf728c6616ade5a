"""Watchlists managed live from the CLI and the REST API.

Written by hand and frozen, like 0001: every column is spelled out here rather than imported
from `tables.py`.

Revision ID: 0003
Revises: 0002
Create Date: 2025-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "watchlists",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("symbols", JSON, nullable=False),
        sa.Column("schedule", sa.String(16), nullable=False, server_default="every_bar"),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.Column("last_run_id", sa.String(128), nullable=True),
        sa.Column("last_run_status", sa.String(16), nullable=True),
        sa.Column("last_run_at", TIMESTAMP, nullable=True),
        sa.UniqueConstraint("name", name="uq_watchlists_name"),
        sa.CheckConstraint(
            "schedule = 'every_bar' OR (length(schedule) = 5 AND substr(schedule, 3, 1) = ':')",
            name="ck_watchlists_schedule",
        ),
        sa.CheckConstraint("version >= 1", name="ck_watchlists_version"),
        sa.CheckConstraint(
            "last_run_status IN ('SUCCESS', 'PARTIAL', 'FAILED', 'RUNNING')",
            name="ck_watchlists_last_run_status",
        ),
    )


def downgrade() -> None:
    op.drop_table("watchlists")
