"""Job runs: a scheduled job runs once per (community, job, period), however many
processes fire it.

Every step is one conditional statement, so two processes racing for a run settle it
in the database: PostgreSQL makes the second INSERT … ON CONFLICT wait for the first
and then do nothing, and re-checks an UPDATE's WHERE against the row the other
transaction committed; SQLite lets one writer in at a time (BEGIN IMMEDIATE).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, update

from bot.ports import JobClaim
from storage.models import job_runs
from storage.sql import Conn, upsert_insert

RUNNING, DONE = "running", "done"  # job_runs.status


def _key(community_id: str, job: str, period: str) -> tuple[ColumnElement[bool], ...]:
    j = job_runs.c
    return (j.community_id == community_id, j.job == job, j.period == period)


class SqlJobRunRepository:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def claim(
        self,
        community_id: str,
        job: str,
        period: str,
        owner: str,
        now: datetime,
        lease_until: datetime,
    ) -> JobClaim | None:
        """A new row wins at once; an existing one only when still running and its
        lease ended (its holder crashed), keeping the cursor to resume from."""
        j = job_runs.c
        key = {"community_id": community_id, "job": job, "period": period}
        new = (
            upsert_insert(self._conn, job_runs)
            .values(**key, owner=owner, status=RUNNING, lease_until=lease_until, claimed_at=now)
            .on_conflict_do_nothing(index_elements=[j.community_id, j.job, j.period])
            .returning(j.cursor)
        )
        if (await self._conn.execute(new)).first() is not None:
            return JobClaim(community_id, job, period, owner)
        take_over = (
            update(job_runs)
            .where(*_key(community_id, job, period), j.status == RUNNING, j.lease_until <= now)
            .values(owner=owner, lease_until=lease_until, claimed_at=now)
            .returning(j.cursor)
        )
        row = (await self._conn.execute(take_over)).first()
        return None if row is None else JobClaim(community_id, job, period, owner, row.cursor)

    async def _held(self, claim: JobClaim, **values: Any) -> bool:
        """Change the run only while `claim.owner` still holds it."""
        j = job_runs.c
        stmt = (
            update(job_runs)
            .where(
                *_key(claim.community_id, claim.job, claim.period),
                j.owner == claim.owner,
                j.status == RUNNING,
            )
            .values(**values)
        )
        return (await self._conn.execute(stmt)).rowcount == 1

    async def progress(self, claim: JobClaim, cursor: str, lease_until: datetime) -> bool:
        return await self._held(claim, cursor=cursor, lease_until=lease_until)

    async def finish(self, claim: JobClaim, now: datetime) -> bool:
        return await self._held(claim, status=DONE, finished_at=now)

    async def prune(self, before: datetime) -> int:
        j = job_runs.c
        stmt = delete(job_runs).where(j.status == DONE, j.finished_at < before)
        return (await self._conn.execute(stmt)).rowcount
