"""Channels' names, as the platform gave them with the latest `/ask` posted there.

The dashboard's settings offer the channels asks were posted in; with this table it
names them (`#general`) instead of showing platform ids.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_names",
        sa.Column("community_id", sa.String(), nullable=False),
        sa.Column("channel_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("community_id", "channel_id", name="pk_channel_names"),
    )


def downgrade() -> None:
    op.drop_table("channel_names")
