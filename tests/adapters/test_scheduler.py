"""APScheduler's side: one cron trigger per community and weekly job, in the community's
timezone, kept in step with the settings; runs are handed to bot.jobs. No test waits
for APScheduler to fire on the wall clock: triggers are read, and runs called."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.calendar import next_firing
from bot.clock import ManualClock
from bot.domain import Schedule
from bot.events import CommandInvoked, MemberInfo
from bot.jobs import Jobs
from bot.service import PayForward
from payforward.scheduler import Scheduler, cron
from tests.fakes import FakeDatabase

CID = "test:acme"
START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("tz", ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"])
@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 3, 6, 12, tzinfo=UTC),  # the weeks around both 2026 DST changes
        datetime(2026, 3, 27, 23, tzinfo=UTC),
        datetime(2026, 10, 23, 5, tzinfo=UTC),
        datetime(2026, 10, 30, 18, tzinfo=UTC),
    ],
)
@pytest.mark.parametrize(
    "schedule", [Schedule(0, time(9, 0)), Schedule(4, time(15, 0)), Schedule(6, time(2, 30))]
)
def test_the_cron_trigger_fires_when_the_calendar_says(
    tz: str, now: datetime, schedule: Schedule
) -> None:
    fired = cron(schedule, tz).get_next_fire_time(None, now)
    assert fired is not None
    # In UTC: PEP 495 never calls a local time in a DST gap or fold equal to another zone's.
    assert fired.astimezone(UTC) == next_firing(schedule, tz, now - timedelta(microseconds=1))


class Harness:
    def __init__(self) -> None:
        self.db = FakeDatabase()
        self.clock = ManualClock(START)
        self.kicks = 0
        self.jobs = Jobs(self.db.uow)
        self.scheduler = Scheduler(self.jobs, self.db.uow, self.clock, self.kick)
        self.bot = PayForward(self.db.uow, self.clock, on_config=self.scheduler.sync)
        self._events = 0

    def kick(self) -> None:
        self.kicks += 1

    async def config(self, text: str) -> None:
        self._events += 1
        await self.bot.handle(
            CommandInvoked(
                event_id=f"e{self._events}",
                community_id=CID,
                actor=MemberInfo("admin", is_admin=True),
                channel_id="general",
                command="payforward",
                text=f"config {text}",
            )
        )


async def test_schedules_follow_the_settings_at_once() -> None:
    h = Harness()
    await h.scheduler.start()
    await h.config("timezone Europe/Berlin")
    assert h.scheduler.triggers() == {
        f"leaderboard:{CID}": "cron[day_of_week='mon', hour='9', minute='0']",
        f"prompts:{CID}": "cron[day_of_week='fri', hour='15', minute='0']",
    }

    await h.config("leaderboard tue 08:30")
    await h.config("prompts off")

    assert h.scheduler.triggers() == {
        f"leaderboard:{CID}": "cron[day_of_week='tue', hour='8', minute='30']"
    }
    await h.scheduler.stop()


async def test_a_timezone_change_moves_the_trigger() -> None:
    h = Harness()
    await h.scheduler.start()
    await h.config("timezone UTC")
    before = h.scheduler._aps.get_job(f"leaderboard:{CID}")
    assert before is not None and str(before.trigger.timezone) == "UTC"

    await h.config("timezone America/New_York")

    after = h.scheduler._aps.get_job(f"leaderboard:{CID}")
    assert after is not None and str(after.trigger.timezone) == "America/New_York"
    await h.scheduler.stop()


async def test_start_ticks_at_once_to_catch_up_and_stop_lets_the_run_finish() -> None:
    h = Harness()
    await h.config("channel <#kudos>")
    h.clock.set(datetime(2026, 11, 30, 20, tzinfo=UTC))  # down through Monday 09:00

    await h.scheduler.start()
    tick = h.scheduler._aps.get_job("tick")
    assert tick is not None and tick.next_run_time == h.clock.now()
    await h.scheduler.tick()  # what APScheduler is about to do
    await h.scheduler.stop()

    async with h.db.uow() as uow:
        assert await uow.outbox.pending_count() == 1  # the weekly post, caught up
    assert h.kicks == 1


async def test_ticks_log_what_happened_only(caplog: pytest.LogCaptureFixture) -> None:
    """A tick every 30 s that finds the weekly post without a channel, again and again
    through the catch-up day, says so at DEBUG only; a post that went out, at INFO."""
    import logging

    h = Harness()
    await h.config("timezone UTC")  # the community exists, with no channel yet
    h.clock.set(datetime(2026, 11, 30, 9, 1, tzinfo=UTC))
    with caplog.at_level(logging.INFO, logger="payforward.scheduler"):
        await h.scheduler._run(None)
        await h.scheduler._run(None)
    assert caplog.records == []

    posted = Harness()
    await posted.config("channel <#kudos>")
    posted.clock.set(datetime(2026, 11, 30, 9, 1, tzinfo=UTC))
    with caplog.at_level(logging.INFO, logger="payforward.scheduler"):
        await posted.scheduler._run(None)
        await posted.scheduler._run(None)  # already done: nothing to say
    assert [r.getMessage() for r in caplog.records] == [f"leaderboard 2026-11-23 for {CID}: done"]
