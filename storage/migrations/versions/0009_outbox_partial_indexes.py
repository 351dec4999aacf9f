"""ix_outbox_replace and ix_outbox_sent hold only the rows they are asked about.

Most queued messages have no replace key, and no pending one has been sent, yet
every message queued wrote an entry in both indexes, and every one sent moved its
ix_outbox_sent entry: three index writes per message (and the WAL pages they
dirty) that no query reads. The lookups by a key and the prune by send time name
a value for the column, which implies it is not NULL, so both still use them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_outbox_replace": (["community_id", "replace_key"], "replace_key IS NOT NULL"),
    "ix_outbox_sent": (["status", "sent_at"], "sent_at IS NOT NULL"),
}


def upgrade() -> None:
    for name, (columns, where) in INDEXES.items():
        op.drop_index(name, table_name="outbox")
        op.create_index(
            name,
            "outbox",
            columns,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def downgrade() -> None:
    for name, (columns, _) in INDEXES.items():
        op.drop_index(name, table_name="outbox")
        op.create_index(name, "outbox", columns)
