"""The dashboard's weekly tallies: connections per finished week (and whatever else
its charts count per week), counted once.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "week_tallies",
        sa.Column("community_id", sa.String(), nullable=False),
        sa.Column("tally", sa.String(40), nullable=False),
        sa.Column("week_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("week_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "community_id", "tally", "week_start", "week_end", name="pk_week_tallies"
        ),
    )


def downgrade() -> None:
    op.drop_table("week_tallies")
