"""Outbox items are held by a named sender; live senders are registered.

`outbox.owner` names the process holding an item, so one heartbeat renews the short
leases of everything it holds (`ix_outbox_owner`, only on held rows). `senders`
lists the processes sending, alive while they beat: each uses 1/N of every rate
budget. `ix_outbox_queue` serves the claim order (class, due time, id) of pending
items and replaces `ix_outbox_due` (status, due_at), which knew no classes.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = "status = 'pending'"
HELD = "owner IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("owner", sa.String(), nullable=True))
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.create_index(
        "ix_outbox_queue",
        "outbox",
        ["priority", "due_at", "id", "community_id"],
        sqlite_where=sa.text(PENDING),
        postgresql_where=sa.text(PENDING),
    )
    op.create_index(
        "ix_outbox_owner",
        "outbox",
        ["owner"],
        sqlite_where=sa.text(HELD),
        postgresql_where=sa.text(HELD),
    )
    op.create_table(
        "senders",
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("alive_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("owner", name=op.f("pk_senders")),
    )


def downgrade() -> None:
    op.drop_table("senders")
    op.drop_index("ix_outbox_owner", table_name="outbox")
    op.drop_index("ix_outbox_queue", table_name="outbox")
    op.create_index("ix_outbox_due", "outbox", ["status", "due_at"])
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("owner")
