"""Cups: the rhythm of rounds, who opted in, the cups and each member's answer.

`communities.cups_*` hold `config cups every 2w mon 10:00` (cups_weeks NULL: off, as
every existing community starts). `cups` are keyed by community, round (the round's
week by its local Monday, ISO) and a number within the round; `cup_seats` hold their
members and answers.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("communities") as batch:
        batch.add_column(sa.Column("cups_weeks", sa.SmallInteger(), nullable=True))
        batch.add_column(sa.Column("cups_weekday", sa.SmallInteger(), nullable=True))
        batch.add_column(sa.Column("cups_time", sa.String(length=5), nullable=True))
        batch.add_column(sa.Column("cups_anchor", sa.String(length=10), nullable=True))
    op.create_table(
        "cups_optins",
        sa.Column("community_id", sa.String(), nullable=False),
        sa.Column("member_id", sa.String(), nullable=False),
        sa.Column("since", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("community_id", "member_id", name="pk_cups_optins"),
    )
    op.create_table(
        "cups",
        sa.Column("community_id", sa.String(), nullable=False),
        sa.Column("round", sa.String(length=10), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("upside_down", sa.Boolean(), nullable=False),
        sa.Column("met_at", UTC_DATETIME, nullable=True),
        sa.Column("followed_up_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("community_id", "round", "number", name="pk_cups"),
    )
    op.create_index(
        "ix_cups_follow_up",
        "cups",
        ["created_at"],
        sqlite_where=sa.text("followed_up_at IS NULL"),
        postgresql_where=sa.text("followed_up_at IS NULL"),
    )
    op.create_index("ix_cups_met", "cups", ["community_id", "met_at"])
    op.create_table(
        "cup_seats",
        sa.Column("community_id", sa.String(), nullable=False),
        sa.Column("round", sa.String(length=10), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.String(), nullable=False),
        sa.Column("answer", sa.String(length=8), nullable=True),
        sa.Column("answered_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id", "round", "number"],
            ["cups.community_id", "cups.round", "cups.number"],
            name="fk_cup_seats_community_id_cups",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "community_id", "round", "number", "member_id", name="pk_cup_seats"
        ),
    )
    op.create_index("ix_cup_seats_member", "cup_seats", ["community_id", "member_id"])


def downgrade() -> None:
    op.drop_index("ix_cup_seats_member", table_name="cup_seats")
    op.drop_table("cup_seats")
    op.drop_index("ix_cups_met", table_name="cups")
    op.drop_index("ix_cups_follow_up", table_name="cups")
    op.drop_table("cups")
    op.drop_table("cups_optins")
    with op.batch_alter_table("communities") as batch:
        batch.drop_column("cups_anchor")
        batch.drop_column("cups_time")
        batch.drop_column("cups_weekday")
        batch.drop_column("cups_weeks")
