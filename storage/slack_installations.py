"""Slack app installations, one row per workspace, for multi-workspace (OAuth) installs.

The Slack adapter keeps slack-sdk's installation model; storage only keeps its JSON
and the keys it is found by, so this module stays free of Slack libraries. A new
install of a workspace replaces the old row in one upsert (two processes finishing the
same workspace's OAuth at once never collide): payforward only ever needs the latest
bot token of a workspace.

The table lives on `storage.models.Base`, so Alembic sees it (revision 0002).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, Text, UniqueConstraint, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import NEVER_REUSE_IDS, Base
from storage.sql import upsert_insert


class SlackInstallationRow(Base):
    __tablename__ = "slack_installations"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "team_id", name="uq_slack_installations_workspace"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    # "" rather than NULL: NULLs never collide in a unique key, "" does.
    enterprise_id: Mapped[str]
    team_id: Mapped[str]
    data: Mapped[str] = mapped_column(Text)  # the installation, as JSON (holds the bot token)
    installed_at: Mapped[datetime]


installations = cast(Table, SlackInstallationRow.__table__)


class SlackInstallations:
    """Save, find and forget the installation of one workspace (or Grid org)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def save(
        self, enterprise_id: str | None, team_id: str | None, data: str, installed_at: datetime
    ) -> None:
        enterprise, team = _key(enterprise_id, team_id)
        c = installations.c
        async with self._engine.begin() as conn:
            await conn.execute(
                upsert_insert(conn, installations)
                .values(
                    enterprise_id=enterprise, team_id=team, data=data, installed_at=installed_at
                )
                .on_conflict_do_update(
                    index_elements=[c.enterprise_id, c.team_id],
                    set_={"data": data, "installed_at": installed_at},
                )
            )

    async def find(self, enterprise_id: str | None, team_id: str | None) -> str | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(installations.c.data).where(*_where(*_key(enterprise_id, team_id)))
                )
            ).first()
        return None if row is None else str(row.data)

    async def find_team(self, team_id: str) -> str | None:
        """The installation serving a workspace, whatever Grid org it belongs to."""
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(installations.c.data)
                    .where(installations.c.team_id == team_id)
                    .order_by(installations.c.installed_at.desc())
                    .limit(1)
                )
            ).first()
        return None if row is None else str(row.data)

    async def delete(self, enterprise_id: str | None, team_id: str | None) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(delete(installations).where(*_where(*_key(enterprise_id, team_id))))


def _key(enterprise_id: str | None, team_id: str | None) -> tuple[str, str]:
    return enterprise_id or "", team_id or ""


def _where(enterprise_id: str, team_id: str) -> tuple[Any, ...]:
    return (installations.c.enterprise_id == enterprise_id, installations.c.team_id == team_id)
