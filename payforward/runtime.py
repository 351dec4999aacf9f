"""Keeping the outbox moving while platforms are connected.

Adapters hand events to `Runtime.handle`, which runs the core. While the runtime
runs, the core hands the dispatcher what an event queued, already claimed in the
event's transaction, and a task of its own sends it right after commit, beside the
event's answers (which never wait behind a send, nor its pacing). The dispatcher loop,
woken for what such a send could not take and by a periodic tick, sends what is due
later (retries, deferred messages) and what another process queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.dispatch import WIRE_TURNS
from bot.events import Event
from bot.messages import Answer
from payforward.bootstrap import Core

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, core: Core, *, tick_seconds: float = 5.0) -> None:
        self._core = core
        self._tick = tick_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()
        self._stopping = False

    async def handle(self, event: Event) -> list[Answer]:
        """What adapters call for every normalized event."""
        answers = await self._core.bot.handle(event)
        if self._core.dispatcher.offered and self._task is not None and not self._stopping:
            send = asyncio.create_task(self._send_offered())
            self._sends.add(send)
            send.add_done_callback(self._sends.discard)
            # The send's first request goes on the wire before the answers are built:
            # otherwise a reaction's DM waited behind the helper's acknowledgement.
            for _ in range(WIRE_TURNS):
                await asyncio.sleep(0)
        return answers

    async def _send_offered(self) -> None:
        dispatcher = self._core.dispatcher
        try:
            await dispatcher.send_offered()
        except Exception:  # the database may be briefly away: the loop tries again
            log.exception("sending what an event queued failed")
        if dispatcher.offered and not dispatcher.sending:  # sending failed
            self.kick()

    def kick(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._core.bot.on_queued = self._core.dispatcher.offer
            self._task = asyncio.create_task(self._loop(), name="payforward-dispatcher")
            self.kick()  # what was queued before the start goes at once

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Let the drain and the sends under way record their deliveries, then stop;
        what still runs after `grace_seconds` (say, paced behind a long queue) is
        cancelled rather than left to send through adapters that are stopping.
        Anything sent but unrecorded is sent again later: never lost."""
        if self._task is None:
            return
        self._core.bot.on_queued = None
        self._stopping = True
        self._wake.set()
        running = {self._task, *self._sends}  # none start once stopping: handle() checks
        _, late = await asyncio.wait(running, timeout=grace_seconds)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        self._task = None
        await self._core.dispatcher.release()

    async def _loop(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._tick)
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self._core.dispatcher.drain()
            except Exception:  # the database may be briefly away: keep the loop alive
                log.exception("dispatching the outbox failed; retrying on the next tick")
