"""The one place where payforward's parts meet: storage, clock, core, dispatcher, adapters.

Everything else receives its collaborators; only this module chooses them. The CLI
and the end-to-end tests call the same functions, so a test exercises the wiring that
production runs. `run_platforms` wires Slack and Discord; each adapter package
exposes one `build(settings, handle)` that returns its ChatAdapter.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from adapters.console.adapter import ConsoleAdapter, new_id_prefix
from adapters.console.members import Roster
from adapters.console.session import ClockHook, ConsoleSession
from bot.clock import ManualClock, SystemClock
from bot.dispatch import Dispatcher
from bot.events import Event
from bot.jobs import Jobs, Ran, step_through
from bot.limits import Pacing
from bot.messages import Answer
from bot.ports import ChatAdapter, Clock, UnitOfWorkFactory
from bot.service import PayForward
from payforward.settings import Settings
from storage.db import make_engine
from storage.migrate import upgrade
from storage.uow import unit_of_work_factory

log = logging.getLogger(__name__)

GC_YOUNG_THRESHOLD = 20_000


@dataclass(frozen=True)
class Core:
    """The running core: what adapters and jobs are handed."""

    clock: Clock
    uow: UnitOfWorkFactory
    bot: PayForward
    dispatcher: Dispatcher
    jobs: Jobs


async def migrate(settings: Settings) -> None:
    """Bring DATABASE_URL to the newest schema; at head this does nothing."""
    await upgrade(settings.database_url)


@asynccontextmanager
async def open_core(
    settings: Settings, clock: Clock, adapters: Mapping[str, ChatAdapter]
) -> AsyncIterator[Core]:
    """The core on the configured database, its engine disposed on the way out.

    `adapters` maps a platform ("console", "slack", "discord") to the adapter that
    delivers that platform's queued messages.
    """
    engine = make_engine(settings.database_url)
    try:
        uow = unit_of_work_factory(engine)
        bot = PayForward(uow, clock)
        dispatcher = Dispatcher(uow, clock, adapters, bot, pacing=pacing(settings))
        yield Core(clock, uow, bot, dispatcher, Jobs(uow))
    finally:
        await engine.dispose()


def pacing(settings: Settings) -> dict[str, Pacing]:
    """Each enabled platform's rate limits, as the settings configure them."""
    paced: dict[str, Pacing] = {}
    if settings.slack_enabled:
        from adapters.slack.limits import SlackPacing

        paced["slack"] = SlackPacing(
            post=settings.slack_post_rate,
            update=settings.slack_update_rate,
            channel=settings.slack_channel_rate,
        )
    if settings.discord_enabled:
        from adapters.discord.limits import DiscordPacing

        paced["discord"] = DiscordPacing(bulk=settings.discord_bulk_rate)
    return paced


async def run_console(
    settings: Settings,
    *,
    member: str,
    clock: ManualClock,
    input: TextIO,
    output: TextIO,
    interactive: bool,
    on_clock: ClockHook | None = None,
) -> None:
    """The console community, until `:quit` or the end of `input`.

    The database must be migrated first (`migrate`). One id prefix serves the adapter's
    message ids and the session's event ids, so they stay unique across sessions that
    share a database file.
    """
    roster = Roster()
    prefix = new_id_prefix()
    adapter = ConsoleAdapter(output, roster, id_prefix=prefix)
    async with open_core(settings, clock, {adapter.platform: adapter}) as core:
        await adapter.start()
        try:
            session = ConsoleSession(
                bot=core.bot,
                outbox=core.dispatcher,
                adapter=adapter,
                roster=roster,
                clock=clock,
                input=input,
                interactive=interactive,
                member=member,
                on_clock=on_clock or _step_through(core, clock, adapter),
                id_prefix=prefix,
            )
            await session.run()
        finally:
            await adapter.stop()


async def run_job(
    settings: Settings,
    job: str,
    at: datetime,
    *,
    deliver: bool = True,
    watch: Watch | None = None,
) -> list[Ran]:
    """`payforward jobs run`: queue one job's work for every community, through the
    same once-only claims as the scheduler; then, with `deliver`, start the sending
    side of each configured platform (no listener, no gateway) and deliver what is
    due, as one more sender beside any running bot, until nothing due is left.
    `watch` is told the total due and then watches the dispatcher until it is done."""
    clock = SystemClock()
    adapters: dict[str, ChatAdapter] = {}
    async with open_core(settings, clock, adapters) as core:
        ran = await core.jobs.run(job, at, clock.now())
        if not deliver:
            return ran
        await _open_senders(settings, adapters)
        try:
            async with core.uow() as uow:
                due = await uow.outbox.due_count(clock.now())
            watching = asyncio.create_task(watch(due, core.dispatcher)) if watch else None
            try:
                await core.dispatcher.drain()
                log.info(
                    "delivered %d message(s), %d undeliverable",
                    core.dispatcher.delivered,
                    core.dispatcher.finished,
                )
            finally:
                await core.dispatcher.release()
                if watching is not None:
                    watching.cancel()
                    await asyncio.gather(watching, return_exceptions=True)
        finally:
            for adapter in adapters.values():
                await adapter.stop()
        return ran


Watch = Callable[[int, Dispatcher], Awaitable[None]]
"""Shows a delivery's progress: given the messages due, and the dispatcher sending them."""


async def _open_senders(settings: Settings, adapters: dict[str, ChatAdapter]) -> None:
    """The platforms' sending side only: Slack's Web API client (its listener is never
    started) and a Discord client logged in over REST (no gateway connection)."""

    async def ignore(event: Event) -> list[Answer]:
        return []

    if settings.slack_enabled:
        from adapters.slack import build as build_slack

        adapters["slack"] = build_slack(settings, ignore)
    if settings.discord_enabled:
        from adapters.discord import DiscordAdapter
        from adapters.discord import build as build_discord

        discord = build_discord(settings, ignore)
        assert isinstance(discord, DiscordAdapter)
        await discord.start_sending()
        adapters["discord"] = discord


def _step_through(core: Core, clock: ManualClock, adapter: ConsoleAdapter) -> ClockHook:
    """The console's `:clock`: each moment something fell due is headed by its time."""

    async def step(previous: datetime, now: datetime) -> None:
        def at(moment: datetime) -> None:
            adapter.head_next(f"⏰ {moment:%a %Y-%m-%d %H:%M} UTC")

        clock.set(previous)
        await step_through(core.jobs, clock, now, core.dispatcher.drain, at)
        adapter.head_next(None)

    return step


async def run_platforms(
    settings: Settings, clock: Clock, stop: asyncio.Event | None = None
) -> None:
    """Every platform whose credentials are set, until SIGINT/SIGTERM (or `stop`).

    The dispatcher sees the adapters through the same dict it was given, so adapters
    built after the core are still the ones it delivers through."""
    from payforward.runtime import Runtime
    from payforward.scheduler import Scheduler

    adapters: dict[str, ChatAdapter] = {}
    stop = stop or _shutdown_event()
    async with open_core(settings, clock, adapters) as core:
        runtime = Runtime(core)
        scheduler = Scheduler(core.jobs, core.uow, clock, runtime.kick)
        core.bot.on_config = scheduler.sync
        if settings.slack_enabled:
            from adapters.slack import build as build_slack

            adapters["slack"] = build_slack(settings, runtime.handle)
        if settings.discord_enabled:
            from adapters.discord import build as build_discord

            adapters["discord"] = build_discord(settings, runtime.handle)
        started: list[ChatAdapter] = []
        try:
            for adapter in adapters.values():
                await adapter.start()
                started.append(adapter)
            await runtime.start()
            await scheduler.start()
            tune_garbage_collector()
            await stop.wait()
        finally:
            await scheduler.stop()
            await runtime.stop()
            for adapter in reversed(started):
                await adapter.stop()


def tune_garbage_collector() -> None:
    """For a long-running bot, once it has started. What is alive then (modules,
    SQLAlchemy's and the platform libraries' structures) lives as long as the process,
    so it leaves the collector's walks (`gc.freeze`); and collections start after
    20,000 new objects rather than 700, since a big community's weekly report makes
    hundreds of thousands. Together they took bench.leaderboard from ~300 to ~190 ms."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)


def _shutdown_event() -> asyncio.Event:
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, event.set)
    return event
