"""The dashboard: sign-in links, sessions, people helped per finished week, and the
admin flag each member's platform last reported.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(
            sa.Column("is_admin", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_index("ix_members_member", "members", ["member_id"])
    op.create_table(
        "sign_in_links",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("community_id", sa.String(), nullable=False),
        sa.Column("member_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name="pk_sign_in_links"),
    )
    op.create_index(
        "ix_sign_in_links_member", "sign_in_links", ["community_id", "member_id", "created_at"]
    )
    op.create_index("ix_sign_in_links_expires", "sign_in_links", ["expires_at"])
    op.create_table(
        "web_sessions",
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("member_id", sa.String(), nullable=False),
        sa.Column("csrf_token", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_hash", name="pk_web_sessions"),
    )
    op.create_index("ix_web_sessions_member", "web_sessions", ["platform", "member_id"])
    op.create_index("ix_web_sessions_expires", "web_sessions", ["expires_at"])
    op.create_table(
        "week_people",
        sa.Column("community_id", sa.String(), nullable=False),
        sa.Column("week_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("week_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("helped", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("community_id", "week_start", "week_end", name="pk_week_people"),
    )


def downgrade() -> None:
    op.drop_table("week_people")
    op.drop_table("web_sessions")
    op.drop_table("sign_in_links")
    op.drop_index("ix_members_member", "members")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("is_admin")
