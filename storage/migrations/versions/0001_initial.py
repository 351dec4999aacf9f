"""Initial schema.

Written by hand to match storage/models.py; tests/storage/test_migrations.py checks
that it does. Types are spelled out here rather than imported from the models so
that this revision keeps meaning the same thing when the models move on.

Revision ID: 0001
Revises:
Create Date: 2025-11-22
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("CURRENT_TIMESTAMP")


def _instant(
    name: str, *, nullable: bool = False, server_default: sa.TextClause | None = None
) -> sa.Column[datetime]:
    """UTC instants: timestamptz on PostgreSQL, fixed-width text on SQLite."""
    return sa.Column(
        name, sa.DateTime(timezone=True), nullable=nullable, server_default=server_default
    )


def _id(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "communities",
        _id("community_id"),
        _id("channel_id", nullable=True),
        sa.Column("timezone", sa.String(), nullable=False),
        sa.Column("leaderboard_weekday", sa.Integer(), nullable=False),
        sa.Column("leaderboard_time", sa.String(5), nullable=False),
        sa.Column("prompts_weekday", sa.Integer(), nullable=True),
        sa.Column("prompts_time", sa.String(5), nullable=True),
        sa.Column("offer_emoji", sa.String(), nullable=False),
        sa.Column("ask_seq", sa.Integer(), server_default=sa.text("0"), nullable=False),
        _instant("created_at", server_default=NOW),
        sa.PrimaryKeyConstraint("community_id", name="pk_communities"),
    )

    op.create_table(
        "members",
        _id("community_id"),
        _id("member_id"),
        sa.Column("display_name", sa.String(), nullable=True),
        sa.Column("tz", sa.String(), nullable=True),
        sa.Column("optout_leaderboard", sa.Boolean(), nullable=False),
        sa.Column("optout_prompts", sa.Boolean(), nullable=False),
        sa.Column("optout_reminders", sa.Boolean(), nullable=False),
        _instant("last_active_at", nullable=True),
        sa.Column("forgotten", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("community_id", "member_id", name="pk_members"),
    )
    op.create_index("ix_members_activity", "members", ["community_id", "last_active_at"])

    op.create_table(
        "asks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _id("community_id"),
        sa.Column("number", sa.Integer(), nullable=False),
        _id("asker_id"),
        _id("channel_id"),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _instant("created_at"),
        _instant("last_activity_at"),
        _id("message_channel_id", nullable=True),
        _id("message_id", nullable=True),
        _instant("resolved_at", nullable=True),
        _instant("bumped_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_asks"),
        sa.UniqueConstraint("community_id", "number", name="uq_asks_number"),
        sa.UniqueConstraint(
            "community_id", "message_channel_id", "message_id", name="uq_asks_message"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_asks_status", "asks", ["community_id", "status", "created_at"])
    op.create_index("ix_asks_asker", "asks", ["community_id", "asker_id", "created_at"])

    op.create_table(
        "offers",
        sa.Column("ask_id", sa.Integer(), nullable=False),
        _id("member_id"),
        sa.Column("status", sa.String(16), nullable=False),
        _instant("created_at"),
        sa.Column("reminders_sent", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["ask_id"], ["asks.id"], name="fk_offers_ask_id_asks", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ask_id", "member_id", name="pk_offers"),
    )
    op.create_index("ix_offers_status", "offers", ["ask_id", "status"])
    op.create_index("ix_offers_member", "offers", ["member_id"])

    op.create_table(
        "gives",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _id("community_id"),
        _id("giver_id"),
        _id("receiver_id", nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("ask_id", sa.Integer(), nullable=True),
        _instant("created_at"),
        _instant("confirmed_at", nullable=True),
        sa.Column("share_ok", sa.Boolean(), nullable=False),
        sa.Column("forward", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("follows", sa.Integer(), nullable=True),
        sa.Column("depth", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["ask_id"], ["asks.id"], name="fk_gives_ask_id_asks", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["follows"], ["gives.id"], name="fk_gives_follows_gives", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_gives"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_gives_confirmed",
        "gives",
        ["community_id", "status", "confirmed_at", "giver_id", "receiver_id", "forward"],
    )
    op.create_index(
        "ix_gives_pair",
        "gives",
        ["community_id", "giver_id", "receiver_id", "confirmed_at", "status"],
    )
    op.create_index("ix_gives_receiver", "gives", ["community_id", "receiver_id", "confirmed_at"])
    op.create_index("ix_gives_created", "gives", ["community_id", "created_at"])
    op.create_index("ix_gives_ask", "gives", ["ask_id"])

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _id("community_id"),
        sa.Column("target", sa.Text(), nullable=False),
        _id("member_id", nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(), nullable=False),
        sa.Column("replace_key", sa.String(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        _instant("due_at"),
        _instant("lease_until", nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        _instant("created_at", server_default=NOW),
        _instant("sent_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "due_at"])

    op.create_table(
        "processed_events",
        _id("community_id"),
        _id("event_id"),
        _instant("seen_at"),
        sa.PrimaryKeyConstraint("community_id", "event_id", name="pk_processed_events"),
    )


def downgrade() -> None:
    tables = ("processed_events", "outbox", "gives", "offers", "asks", "members", "communities")
    for table in tables:
        op.drop_table(table)
