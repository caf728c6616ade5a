"""Alert rule state per (rule, symbol), so evaluation resumes exactly after a restart.

Written by hand and frozen, like 0001: every column is spelled out here rather than imported
from `tables.py`.

Revision ID: 0002
Revises: 0001
Create Date: 2025-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alert_state",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="ARMED"),
        sa.Column("consecutive_true", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_fired_bar", TIMESTAMP, nullable=True),
        sa.Column("last_bar_evaluated", TIMESTAMP, nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("rule", "symbol", name="uq_alert_state_rule_symbol"),
        sa.CheckConstraint("state IN ('ARMED', 'TRIGGERED')", name="ck_alert_state_state"),
        sa.CheckConstraint("consecutive_true >= 0", name="ck_alert_state_consecutive_true"),
    )


def downgrade() -> None:
    op.drop_table("alert_state")
