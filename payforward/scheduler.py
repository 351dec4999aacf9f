"""APScheduler's part: firing at the right moments. What to do is bot/jobs.py's part.

Each community gets a cron trigger per weekly job, in its own timezone (so posts
follow DST), rebuilt as soon as an admin changes the schedule. A frequent tick runs
the follow-ups, catches up weekly jobs missed by downtime (at start too) and notices
schedules changed by another process. Whatever fires, `Jobs.run_due` reads the clock
and the database, and the claims in `job_runs` make every run happen once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.domain import Community, Schedule
from bot.jobs import Jobs, Result, schedules
from bot.ports import Clock, UnitOfWorkFactory

log = logging.getLogger(__name__)

TICK = timedelta(seconds=30)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def cron(schedule: Schedule, tz_name: str) -> CronTrigger:
    """The trigger for a weekly schedule, in the community's timezone."""
    return CronTrigger(
        day_of_week=DAYS[schedule.weekday],
        hour=schedule.at.hour,
        minute=schedule.at.minute,
        timezone=ZoneInfo(tz_name),
    )


def wanted_triggers(communities: list[Community]) -> dict[str, CronTrigger]:
    """APScheduler job id → trigger, for every weekly job of every community."""
    return {
        f"{job}:{c.community_id}": cron(schedule, c.timezone)
        for c in communities
        for job, schedule in schedules(c)
    }


def _same(current: object, wanted: CronTrigger) -> bool:
    """Whether a trigger in place fires as `wanted` does (its str() omits the zone)."""
    return isinstance(current, CronTrigger) and (str(current), str(current.timezone)) == (
        str(wanted),
        str(wanted.timezone),
    )


class Scheduler:
    def __init__(
        self,
        jobs: Jobs,
        uow: UnitOfWorkFactory,
        clock: Clock,
        kick: Callable[[], None],
        *,
        tick: timedelta = TICK,
    ) -> None:
        self._jobs = jobs
        self._uow = uow
        self._clock = clock
        self._kick = kick
        self._tick_every = tick
        self._aps = AsyncIOScheduler(timezone=UTC)
        self._running: set[asyncio.Task[None]] = set()
        self._turn = asyncio.Lock()

    async def start(self) -> None:
        await self.sync()
        # Run the first tick at once: catch up on anything missed while stopped.
        self._aps.add_job(
            self.tick,
            IntervalTrigger(seconds=self._tick_every.total_seconds()),
            id="tick",
            next_run_time=self._clock.now(),
            coalesce=True,
            max_instances=1,
        )
        self._aps.start()

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Fire nothing more; let a run under way finish (cancel it after the grace:
        its transaction rolls back and its claim's lease lets the next start redo it)."""
        if self._aps.running:
            self._aps.shutdown(wait=False)
        if self._running:
            _, late = await asyncio.wait(self._running, timeout=grace_seconds)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def sync(self, community_id: str | None = None) -> None:
        """Make the cron triggers match the stored schedules (all communities: one
        read, whatever `community_id` changed)."""
        async with self._uow() as uow:
            wanted = wanted_triggers(await uow.communities.all())
        current: dict[str, Job] = {job.id: job for job in self._aps.get_jobs() if job.id != "tick"}
        for job_id, trigger in wanted.items():
            existing = current.get(job_id)
            if existing is not None and _same(existing.trigger, trigger):
                continue
            _, _, cid = job_id.partition(":")
            self._aps.add_job(
                self.fire,
                trigger,
                args=[cid],
                id=job_id,
                replace_existing=True,
                coalesce=True,
                misfire_grace_time=None,  # late is fine: the claims keep it to once
            )
        for job_id in current.keys() - wanted.keys():
            self._aps.remove_job(job_id)

    def triggers(self) -> dict[str, str]:
        """The cron triggers in place, for logs and tests."""
        return {job.id: str(job.trigger) for job in self._aps.get_jobs() if job.id != "tick"}

    async def fire(self, community_id: str) -> None:
        self._spawn(self._run(community_id))

    async def tick(self) -> None:
        self._spawn(self._tick())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run the work in a task of our own, so that `stop` can let it finish rather
        than have APScheduler's shutdown cancel it halfway through a transaction."""
        task = asyncio.create_task(work)
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _tick(self) -> None:
        await self._run(None)
        try:
            await self.sync()
        except Exception:
            log.exception("could not refresh the schedules; trying again on the next tick")

    async def _run(self, community_id: str | None) -> None:
        async with self._turn:  # one run at a time in this process; claims cover the rest
            await self._run_now(community_id)

    async def _run_now(self, community_id: str | None) -> None:
        try:
            ran = await self._jobs.run_due(self._clock.now(), community_id)
        except Exception:  # the database may be briefly away: the next tick catches up
            log.exception("scheduled jobs failed; the next tick tries again")
            return
        for run in ran:
            # Only what happened is news; "off" or "no channel yet" would otherwise
            # repeat every tick for a day (the catch-up window).
            level = logging.INFO if run.result in (Result.DONE, Result.LOST) else logging.DEBUG
            log.log(level, "%s %s for %s: %s", run.job, run.period, run.community_id, run.result)
        self._kick()
