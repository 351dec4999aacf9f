"""A partial index of the members who hide from the leaderboard: every weekly report
asks for them, and reading all members of a big community for a handful cost ~10 ms.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_members_hidden",
        "members",
        ["community_id", "member_id"],
        sqlite_where=sa.text("optout_leaderboard = 1"),
        postgresql_where=sa.text("optout_leaderboard = true"),
    )


def downgrade() -> None:
    op.drop_index("ix_members_hidden", table_name="members")
