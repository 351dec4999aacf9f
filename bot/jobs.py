"""Scheduled work, exactly once: the weekly post, the weekly prompts, cups rounds and
the follow-ups.

A scheduler only says *when to look*; what to do is decided here from the clock and
the database, so the same code serves APScheduler's triggers, the catch-up after
downtime, the console's `:clock` and `payforward jobs run`.

Exactly-once is a database guarantee. A weekly job for a community and period (the
week it reports on, or the week a prompt belongs to) runs only under a claim in
`job_runs`, taken in its own transaction before anything is queued. The work is then
committed with `finish` (or, for prompts and cups, step by step with `progress`), each
conditional on still holding the claim. A process that dies leaves a claim whose
lease runs out; the next one to look takes it over and resumes from its cursor.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot import cups, followups, prompts, rounds
from bot.calendar import latest_firing, next_firing
from bot.clock import ManualClock
from bot.domain import Community, Schedule
from bot.messages import Priority, ToChannel
from bot.observe import Observer, Silent
from bot.ports import JobClaim, UnitOfWork, UnitOfWorkFactory
from bot.report import weekly_post, weekly_report
from bot.weeks import local_date, previous_week, week_of

LEADERBOARD, PROMPTS, REMINDERS, CUPS = "leaderboard", "prompts", "reminders", "cups"
JOBS = (LEADERBOARD, PROMPTS, REMINDERS, CUPS)
CATCH_UP = timedelta(hours=24)  # a weekly post missed by downtime is still made this late
LEASE = timedelta(minutes=5)
HOUSEKEEPING_EVERY = timedelta(hours=1)
KEEP_EVENT_IDS = timedelta(days=7)  # platforms redeliver within minutes, replays within hours
KEEP_SENT = timedelta(days=30)
KEEP_RUNS = timedelta(days=90)
MAX_STEPS = 10_000  # a manual clock's jump stops at most this often


class Result(StrEnum):
    DONE = "done"
    SETTLED = "already done, or under way elsewhere"
    LOST = "taken over by another process"
    NO_CHANNEL = "no channel to post in yet"
    OFF = "off for this community"


@dataclass(frozen=True)
class Ran:
    community_id: str
    job: str
    period: str
    result: Result


def schedules(community: Community) -> list[tuple[str, Schedule]]:
    """The weekly jobs of a community and when they fire. Cups fire every week at
    their day and time; only a round week runs a round (`latest_run`)."""
    found = [(LEADERBOARD, community.leaderboard)]
    if community.prompts is not None:
        found.append((PROMPTS, community.prompts))
    if community.cups is not None:
        found.append((CUPS, community.cups.schedule))
    return found


def latest_run(
    job: str, community: Community, schedule: Schedule, now: datetime
) -> datetime | None:
    """The latest moment at or before `now` the job should have run at."""
    if job == CUPS and community.cups is not None:
        return rounds.latest_round(community.cups, community.timezone, now)
    return latest_firing(schedule, community.timezone, now)


def next_run(job: str, community: Community, schedule: Schedule, after: datetime) -> datetime:
    if job == CUPS and community.cups is not None:
        return rounds.next_round(community.cups, community.timezone, after)
    return next_firing(schedule, community.timezone, after)


def period_of(job: str, community: Community, firing: datetime) -> str:
    """The claim's period: the week reported on (the leaderboard posts the week just
    ended) or the week a prompt or a cups round is in, by its local Monday. Moving a
    schedule within a week therefore never runs a job twice for that week."""
    if job == LEADERBOARD:
        start, _ = previous_week(firing, community.timezone)
    else:
        start, _ = week_of(firing, community.timezone)
    return local_date(start, community.timezone).isoformat()


class Jobs:
    def __init__(
        self, uow: UnitOfWorkFactory, owner: str | None = None, observer: Observer | None = None
    ) -> None:
        self._uow = uow
        self.owner = owner or uuid.uuid4().hex
        self._observer: Observer = observer or Silent()
        self._quiet_until: dict[tuple[str, str, str], datetime] = {}
        self._housekept: datetime | None = None

    async def run_due(self, now: datetime, community_id: str | None = None) -> list[Ran]:
        """Everything due at `now`: each weekly job whose latest firing is at most
        CATCH_UP ago, then (for all communities) the follow-ups and housekeeping."""
        ran: list[Ran] = []
        for community in await self._communities(community_id):
            for job, schedule in schedules(community):
                firing = latest_run(job, community, schedule, now)
                if firing is not None and now - firing <= CATCH_UP:
                    ran.append(await self.run_once(community, job, firing, now))
        if community_id is None:
            await followups.run(self._uow, now)
            await self._housekeeping(now)
        return ran

    async def run(self, job: str, at: datetime, now: datetime | None = None) -> list[Ran]:
        """One job for every community as if its trigger fired at `at`, its messages
        queued for `now` (default `at`): the ops CLI. Reminders run as of `at`."""
        now = now or at
        if job == REMINDERS:
            done = await followups.run(self._uow, at)
            acted = done.reminded + done.lapsed + done.bumped + done.closed + done.routed
            acted += done.cups
            return [Ran("*", REMINDERS, at.isoformat(), Result.DONE)] if acted else []
        ran = []
        for community in await self._communities(None):
            off = (job == PROMPTS and community.prompts is None) or (
                job == CUPS and community.cups is None
            )
            if off:
                ran.append(Ran(community.community_id, job, "", Result.OFF))
            else:
                ran.append(await self.run_once(community, job, at, now))
        return ran

    async def next_due(self, after: datetime) -> datetime | None:
        """The first instant after `after` when something falls due: a weekly job, a
        follow-up, or a queued message held back (quiet hours, retries)."""
        async with self._uow() as uow:
            communities = await uow.communities.all()
            marks = await uow.asks.follow_up_marks(after - followups.BUMP_AFTER)
            queued = await uow.outbox.next_due(after)
            routing = await uow.connector.next_due(after)
            unfollowed = await uow.cups.oldest_unfollowed()
        moments = [
            next_run(job, c, schedule, after) for c in communities for job, schedule in schedules(c)
        ]
        found = (
            followups.next_due(marks, after),
            queued,
            routing,
            cups.next_follow_up(unfollowed, after),
        )
        moments += [m for m in found if m is not None]
        return min(moments, default=None)

    async def run_once(
        self, community: Community, job: str, firing: datetime, now: datetime
    ) -> Ran:
        """Run the weekly `job` for the period `firing` belongs to, unless it ran."""
        cid = community.community_id
        period = period_of(job, community, firing)
        key = (cid, job, period)
        if self._quiet_until.get(key, now) > now:
            return Ran(cid, job, period, Result.SETTLED)
        async with self._uow() as uow:
            claim = await uow.jobs.claim(cid, job, period, self.owner, now, now + LEASE)
            await uow.commit()
        if claim is None:
            self._quiet_until[key] = now + LEASE  # look again once a holder's lease could end
            return Ran(cid, job, period, Result.SETTLED)
        result = await self._work(claim, community, firing, now)
        self._observer.job_ran(job, result.name.lower())
        self._quiet_until[key] = now + CATCH_UP + LEASE
        return Ran(cid, job, period, result)

    async def _work(
        self, claim: JobClaim, community: Community, firing: datetime, now: datetime
    ) -> Result:
        cursor = claim.cursor
        result = Result.DONE
        while True:
            async with self._uow() as uow:
                if claim.job == LEADERBOARD:
                    posted = await _post_week(uow, community, firing, now)
                    result = Result.DONE if posted else Result.NO_CHANNEL
                    cursor = None
                elif claim.job == CUPS:
                    cursor = await cups.round_step(uow, community, claim.period, now, cursor)
                else:
                    cursor = await prompts.send_page(uow, community, now, cursor)
                if cursor is None:
                    held = await uow.jobs.finish(claim, now)
                else:
                    held = await uow.jobs.progress(claim, cursor, now + LEASE)
                if not held:
                    return Result.LOST  # leaving without commit undoes this page
                await uow.commit()
            if cursor is None:
                return result

    async def _communities(self, community_id: str | None) -> Sequence[Community]:
        async with self._uow() as uow:
            if community_id is None:
                return await uow.communities.all()
            community = await uow.communities.get(community_id)
        return [community] if community is not None else []

    async def _housekeeping(self, now: datetime) -> None:
        """Drop what no longer matters: old event ids, sent messages and finished runs."""
        if self._housekept is not None and now - self._housekept < HOUSEKEEPING_EVERY:
            return
        self._housekept = now
        self._quiet_until = {key: at for key, at in self._quiet_until.items() if at > now}
        async with self._uow() as uow:
            await uow.events.prune(now - KEEP_EVENT_IDS)
            await uow.outbox.prune(now - KEEP_SENT)
            await uow.jobs.prune(now - KEEP_RUNS)
            await uow.commit()


async def step_through(
    jobs: Jobs,
    clock: ManualClock,
    end: datetime,
    deliver: Callable[[], Awaitable[int]],
    at: Callable[[datetime], None] = lambda moment: None,
) -> None:
    """Move a manual clock to `end`, stopping at each moment something falls due, in
    order: run what is due there and `deliver` what it queued. The console's `:clock`
    and the tests use this; `at` is told each moment before its work runs."""
    for _ in range(MAX_STEPS):
        due = await jobs.next_due(clock.now())
        if due is None or due > end:
            break
        clock.set(due)
        at(due)
        await jobs.run_due(due)
        await deliver()
    clock.set(end)
    await jobs.run_due(end)
    await deliver()


async def _post_week(
    uow: UnitOfWork, community: Community, firing: datetime, now: datetime
) -> bool:
    """Queue the weekly post for the week before `firing`; False with nowhere to post."""
    cid = community.community_id
    channel = community.channel_id or await uow.asks.latest_channel(cid)
    if channel is None:
        return False
    start, end = previous_week(firing, community.timezone)
    report = await weekly_report(uow, community, start, end, public=True, now=now)
    await uow.outbox.add(cid, ToChannel(channel), weekly_post(report), now, priority=Priority.SOON)
    return True
