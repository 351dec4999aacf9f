"""Job runs, and the indexes of the follow-ups and of pruning.

`job_runs` holds one row per (community, job, period), so that a scheduled job runs
once however many processes fire it (storage/jobs.py). The follow-ups look across
every community, so their indexes start with the status instead of the community;
pruning reads old sent items and old event ids by time.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_asks_activity", "asks", ["status", "last_activity_at"]),
    ("ix_asks_bump", "asks", ["status", "bumped_at", "created_at"]),
    ("ix_outbox_sent", "outbox", ["status", "sent_at"]),
    ("ix_processed_events_seen", "processed_events", ["seen_at"]),
)


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("community_id", sa.String(), nullable=False),
        sa.Column("job", sa.String(), nullable=False),
        sa.Column("period", sa.String(), nullable=False),
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("community_id", "job", "period", name="pk_job_runs"),
    )
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_table("job_runs")
