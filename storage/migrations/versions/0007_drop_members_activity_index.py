"""Drop ix_members_activity: prompts walk members by primary key, filtering on
activity, so nothing reads it any more, yet every member save wrote it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_members_activity", table_name="members")


def downgrade() -> None:
    op.create_index("ix_members_activity", "members", ["community_id", "last_active_at"])
