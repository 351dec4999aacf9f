"""Slack installations, for multi-workspace OAuth installs (storage/slack_installations.py).

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# The model module registers its table on storage.models.Base, so that comparing the
# migrated schema with the models sees it even when nothing else imported the module.
import storage.slack_installations  # noqa: F401

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slack_installations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("enterprise_id", sa.String(), nullable=False),
        sa.Column("team_id", sa.String(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_slack_installations"),
        sa.UniqueConstraint("enterprise_id", "team_id", name="uq_slack_installations_workspace"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("slack_installations")
