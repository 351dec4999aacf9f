"""The one place where payforward's parts meet: storage, clock, core, dispatcher, adapters.

Everything else receives its collaborators; only this module chooses them. The CLI
and the end-to-end tests call the same functions, so a test exercises the wiring that
production runs. `run_platforms` wires Slack and Discord; each adapter package
exposes one `build(settings, handle)` that returns its ChatAdapter.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.metadata
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.console.adapter import ConsoleAdapter, new_id_prefix
from adapters.console.cards import EarlierCards
from adapters.console.members import CONSOLE_COMMUNITY, Roster
from adapters.console.session import ClockHook, ConsoleSession
from adapters.web import WebDeps, install
from bot.clock import ManualClock, SystemClock
from bot.dispatch import Dispatcher
from bot.events import Event
from bot.jobs import Jobs, Ran, step_through
from bot.limits import Pacing
from bot.messages import Answer
from bot.observe import Observer
from bot.ports import ChatAdapter, Clock, UnitOfWorkFactory
from bot.service import PayForward
from payforward.health import Operations
from payforward.http import HttpServer, ListenError
from payforward.metrics import Metrics
from payforward.settings import Settings
from storage.db import make_engine
from storage.migrate import upgrade
from storage.uow import unit_of_work_factory

log = logging.getLogger(__name__)

GC_YOUNG_THRESHOLD = 20_000
Mount = Callable[[web.Application, "Core"], None]
"""Adds routes to the HTTP application before it listens (e.g. the dashboard)."""


@dataclass(frozen=True)
class Core:
    """The running core: what adapters and jobs are handed."""

    clock: Clock
    uow: UnitOfWorkFactory
    bot: PayForward
    dispatcher: Dispatcher
    jobs: Jobs
    engine: AsyncEngine | None = None  # for the operator's checks (/readyz, /metrics)


async def migrate(settings: Settings) -> None:
    """Bring DATABASE_URL to the newest schema; at head this does nothing."""
    await upgrade(settings.database_url)


@asynccontextmanager
async def open_core(
    settings: Settings,
    clock: Clock,
    adapters: Mapping[str, ChatAdapter],
    observer: Observer | None = None,
) -> AsyncIterator[Core]:
    """The core on the configured database, its engine disposed on the way out.

    `adapters` maps a platform ("console", "slack", "discord") to the adapter that
    delivers that platform's queued messages; `observer` counts for the metrics.
    """
    engine = make_engine(settings.database_url)
    try:
        uow = unit_of_work_factory(engine)
        bot = PayForward(uow, clock, observer=observer, dashboard_url=settings.dashboard_url)
        dispatcher = Dispatcher(uow, clock, adapters, bot, pacing=pacing(settings))
        yield Core(clock, uow, bot, dispatcher, Jobs(uow, observer=observer), engine)
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
    serve: bool = False,
) -> None:
    """The console community, until `:quit` or the end of `input`.

    The database must be migrated first (`migrate`). One id prefix serves the adapter's
    message ids and the session's event ids, so they stay unique across sessions that
    share a database file. With `serve`, the HTTP listener serves the dashboard too, so
    `/payforward dashboard` can be tried with no tokens; an address in use only costs
    the dashboard, never the console.
    """
    roster = Roster()
    prefix = new_id_prefix()
    adapter = ConsoleAdapter(output, roster, id_prefix=prefix)
    server = HttpServer(settings.http_host, settings.http_port) if serve else None
    async with open_core(settings, clock, {adapter.platform: adapter}) as core:
        await adapter.start()
        if server is not None:
            server = await _console_dashboard(server, core, settings)
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
                earlier=EarlierCards(core.uow, CONSOLE_COMMUNITY),
            )
            await session.run()
        finally:
            if server is not None:
                await server.stop()
            await adapter.stop()


async def _console_dashboard(
    server: HttpServer, core: Core, settings: Settings
) -> HttpServer | None:
    """The listener with the dashboard, started; None (and one line why) when it can't."""
    sends: set[asyncio.Task[int]] = set()

    def deliver() -> None:  # what a dashboard form queued shows up in the console
        task = asyncio.create_task(core.dispatcher.drain())
        sends.add(task)
        task.add_done_callback(sends.discard)

    try:
        server.bind()
    except ListenError as error:
        log.warning("the dashboard is not served: %s", error)
        return None
    serve_dashboard(server, core, settings, deliver)
    await server.start()
    return server


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

        adapters["slack"] = build_slack(settings, ignore, web.Application())
    if settings.discord_enabled:
        from adapters.discord import DiscordAdapter
        from adapters.discord import build as build_discord

        discord = build_discord(settings, ignore)
        assert isinstance(discord, DiscordAdapter)
        await discord.start_sending()
        adapters["discord"] = discord


def serve_dashboard(
    server: HttpServer, core: Core, settings: Settings, kick: Callable[[], None]
) -> None:
    """Add the web dashboard to the listener (bound already, so that sign-in links
    name its port when PAYFORWARD_PUBLIC_URL is unset)."""
    url = settings.public_url or server.url
    core.bot.dashboard_url = url
    install(server.app, WebDeps(core.uow, core.clock, core.bot, url, kick=kick))


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
    settings: Settings,
    clock: Clock,
    stop: asyncio.Event | None = None,
    *,
    server: HttpServer | None = None,
    mount: Mount | None = None,
) -> None:
    """Every platform whose credentials are set, until SIGINT/SIGTERM (or `stop`).

    One HTTP listener serves `/healthz`, `/readyz`, `/metrics` and, in HTTP mode,
    Slack's routes; `mount(app, core)` adds more before it listens (the dashboard,
    which needs the core), and a caller may pass its own `server`. It listens before
    the platforms connect, so an orchestrator sees "alive, not ready" while they do.
    Connecting retries with growing pauses (payforward/connecting.py); a stop signal
    ends it at any moment, connecting or not. The dispatcher and scheduler start at
    once; the dispatcher delivers through each platform from the moment it connects
    (it sees `serving`, filled as they do), so Slack's answers never wait for an
    unreachable Discord, nor the other way round."""
    from payforward.runtime import Runtime
    from payforward.scheduler import Scheduler

    adapters: dict[str, ChatAdapter] = {}
    serving: dict[str, ChatAdapter] = {}
    stop = stop or _shutdown_event()
    metrics = Metrics(version())
    server = server or HttpServer(settings.http_host, settings.http_port)
    server.bind()
    async with open_core(settings, clock, serving, observer=metrics) as core:
        runtime = Runtime(core)
        serve_dashboard(server, core, settings, runtime.kick)
        scheduler = Scheduler(core.jobs, core.uow, clock, runtime.kick)
        core.bot.on_config = scheduler.sync
        if settings.slack_enabled:
            from adapters.slack import build as build_slack

            adapters["slack"] = build_slack(settings, runtime.handle, server.app)
        if settings.discord_enabled:
            from adapters.discord import build as build_discord

            adapters["discord"] = build_discord(settings, runtime.handle)
        assert core.engine is not None
        Operations(core.engine, adapters, metrics, clock).install(server.app)
        if mount is not None:
            mount(server.app, core)
        try:
            await server.start()
            log.info("HTTP: listening on %s (/healthz, /readyz, /metrics, /dashboard)", server.url)
            await runtime.start()
            await scheduler.start()
            tune_garbage_collector()
            if await _connect_all(adapters, serving, runtime.kick, stop):
                await stop.wait()
        finally:
            await scheduler.stop()
            await runtime.stop()
            for adapter in reversed(adapters.values()):
                await adapter.stop()
            await server.stop()


async def _connect_all(
    adapters: Mapping[str, ChatAdapter],
    serving: dict[str, ChatAdapter],
    kick: Callable[[], None],
    stop: asyncio.Event,
) -> bool:
    """Connect every adapter, each retrying on its own and put in `serving` (with a
    kick to the dispatcher) as soon as it is up; False if `stop` came first."""
    from payforward.connecting import connect

    async def connect_one(platform: str, adapter: ChatAdapter) -> None:
        await connect(adapter)
        serving[platform] = adapter
        kick()

    connecting = asyncio.gather(*(connect_one(*named) for named in adapters.items()))
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({connecting, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if connecting.done():
        connecting.result()  # an unexpected error (a bug) is not swallowed
        return not stop.is_set()
    connecting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await connecting
    return False


def version() -> str:
    try:
        return importlib.metadata.version("payforward")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


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
