"""Dashboard sign-in links and sessions over SQL (bot.ports.SignInRepository).

Sessions live in the database, not in a process, so that any number of `payforward run`
processes behind one address share them. Rows are keyed by the SHA-256 of their
secret; the secret itself is only ever in the member's DM and their browser's cookie.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, insert, select, update

from bot.ports import SignInLink, WebSession
from storage.models import sign_in_links, web_sessions
from storage.sql import Conn


class SqlSignInRepository:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def add_link(self, token_hash: str, link: SignInLink, now: datetime) -> None:
        await self._conn.execute(
            insert(sign_in_links).values(
                token_hash=token_hash,
                community_id=link.community_id,
                member_id=link.member_id,
                created_at=now,
                expires_at=link.expires_at,
                used_at=link.used_at,
            )
        )

    async def links_since(self, community_id: str, member_id: str, since: datetime) -> int:
        c = sign_in_links.c
        found = await self._conn.execute(
            select(func.count()).where(
                c.community_id == community_id, c.member_id == member_id, c.created_at >= since
            )
        )
        return int(found.scalar_one())

    async def link(self, token_hash: str) -> SignInLink | None:
        c = sign_in_links.c
        found = await self._conn.execute(
            select(c.community_id, c.member_id, c.expires_at, c.used_at).where(
                c.token_hash == token_hash
            )
        )
        row = found.first()
        return None if row is None else SignInLink(*row)

    async def use_link(self, token_hash: str, now: datetime) -> bool:
        c = sign_in_links.c
        used = await self._conn.execute(
            update(sign_in_links)
            .where(c.token_hash == token_hash, c.used_at.is_(None), c.expires_at > now)
            .values(used_at=now)
        )
        return used.rowcount == 1

    async def add_session(self, session_hash: str, session: WebSession, now: datetime) -> None:
        await self._conn.execute(
            insert(web_sessions).values(
                session_hash=session_hash,
                platform=session.platform,
                member_id=session.member_id,
                csrf_token=session.csrf_token,
                created_at=now,
                expires_at=session.expires_at,
            )
        )

    async def session(self, session_hash: str, now: datetime) -> WebSession | None:
        c = web_sessions.c
        found = await self._conn.execute(
            select(c.platform, c.member_id, c.csrf_token, c.expires_at).where(
                c.session_hash == session_hash, c.expires_at > now
            )
        )
        row = found.first()
        return None if row is None else WebSession(*row)

    async def end_session(self, session_hash: str) -> None:
        await self._conn.execute(
            delete(web_sessions).where(web_sessions.c.session_hash == session_hash)
        )

    async def end_sessions_of(self, platform: str, member_id: str) -> None:
        c = web_sessions.c
        await self._conn.execute(
            delete(web_sessions).where(c.platform == platform, c.member_id == member_id)
        )

    async def prune(self, now: datetime) -> int:
        links = await self._conn.execute(
            delete(sign_in_links).where(sign_in_links.c.expires_at <= now)
        )
        sessions = await self._conn.execute(
            delete(web_sessions).where(web_sessions.c.expires_at <= now)
        )
        return int(links.rowcount or 0) + int(sessions.rowcount or 0)
