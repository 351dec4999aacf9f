"""Connecting a platform adapter until it works, or until we are told to stop.

A platform may be unreachable, or refuse a token, or accept a connection and never
answer. Each attempt is bounded in time; a failed one is reported as one short line
(no traceback: the cause is the platform's answer, not a bug), then waited out with
growing pauses, capped, so a bad token costs a line a minute rather than a flood.
Cancelling the task (SIGTERM, Ctrl-C) stops it at once, wherever it is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.ports import ChatAdapter

log = logging.getLogger(__name__)

ATTEMPT_SECONDS = 60.0
FIRST_WAIT_SECONDS = 1.0
MAX_WAIT_SECONDS = 60.0

Sleep = Callable[[float], Awaitable[None]]


def waits(first: float = FIRST_WAIT_SECONDS, cap: float = MAX_WAIT_SECONDS) -> list[float]:
    """The pauses after failed attempts 1, 2, 3, …: doubling, then capped (a prefix)."""
    pauses = [first]
    while pauses[-1] < cap:
        pauses.append(min(cap, pauses[-1] * 2))
    return pauses


async def connect(
    adapter: ChatAdapter,
    *,
    attempt_seconds: float = ATTEMPT_SECONDS,
    first_wait: float = FIRST_WAIT_SECONDS,
    max_wait: float = MAX_WAIT_SECONDS,
    sleep: Sleep = asyncio.sleep,
) -> int:
    """`adapter.start()` until it returns; the number of attempts it took.

    The adapter cleans up after a failed start itself, so it can be started again."""
    pauses = waits(first_wait, max_wait)
    attempt = 0
    while True:
        attempt += 1
        try:
            async with asyncio.timeout(attempt_seconds):
                await adapter.start()
            return attempt
        except TimeoutError:
            reason = f"no answer within {attempt_seconds:g} s"
        except Exception as error:
            reason = describe(error)
        pause = pauses[min(attempt, len(pauses)) - 1]
        log.warning(
            "%s: could not connect (%s); attempt %d, next in %g s",
            adapter.platform.capitalize(),
            reason,
            attempt,
            pause,
        )
        await sleep(pause)


def describe(error: BaseException) -> str:
    """One line for an error: its message, else its type."""
    text = " ".join(str(error).split())
    if len(text) > 200:
        text = text[:197] + "…"
    return text or type(error).__name__
