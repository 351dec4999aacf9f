"""Week counts: a finished week's confirmed gives, counted once for the report's trend.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "week_counts",
        sa.Column("community_id", sa.String(), nullable=False),
        sa.Column("week_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("week_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("gives", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("community_id", "week_start", "week_end", name="pk_week_counts"),
    )


def downgrade() -> None:
    op.drop_table("week_counts")
