"""The weekly report's chain ends and shared items from their indexes alone.

chain_ends sorted a week of whole rows by depth to pick 30, and shared read every
give created in the week from the table to find the few shared ones: 15–17 ms each
in a 1,000,000-give community. ix_gives_confirmed now also holds depth and follows,
ix_gives_created share_ok and status.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONFIRMED = ["community_id", "status", "confirmed_at", "giver_id", "receiver_id", "forward"]
CREATED = ["community_id", "created_at"]


def upgrade() -> None:
    _replace("ix_gives_confirmed", [*CONFIRMED, "depth", "follows"])
    _replace("ix_gives_created", [*CREATED, "share_ok", "status"])


def downgrade() -> None:
    _replace("ix_gives_confirmed", CONFIRMED)
    _replace("ix_gives_created", CREATED)


def _replace(name: str, columns: list[str]) -> None:
    op.drop_index(name, table_name="gives")
    op.create_index(name, "gives", columns)
