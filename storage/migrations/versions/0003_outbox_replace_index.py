"""Index queued messages by replace key.

A newer ask card replaces the queued one with the same key; without this index the
lookup scanned every pending item, which made each card edit slower the longer the
queue grew during a burst.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_outbox_replace", "outbox", ["community_id", "replace_key"])


def downgrade() -> None:
    op.drop_index("ix_outbox_replace", table_name="outbox")
