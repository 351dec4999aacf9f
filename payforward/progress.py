"""What `payforward jobs run` shows while it delivers: a progress bar on a terminal
(tqdm: how many of how many, the rate, the time left), else a plain log line every
few seconds, so a cron job's log reads as well as a terminal does."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from typing import TextIO

from tqdm import tqdm

from bot.dispatch import Dispatcher

log = logging.getLogger("payforward.jobs")

REFRESH = 0.25  # seconds between updates of the bar
LOG_EVERY = 5.0  # seconds between log lines


def done(dispatcher: Dispatcher) -> int:
    """Messages this dispatcher is finished with: delivered, or given up on."""
    return dispatcher.delivered + dispatcher.finished


async def watch_delivery(total: int, dispatcher: Dispatcher, stream: TextIO = sys.stderr) -> None:
    """Until cancelled (when the delivery is over)."""
    if stream.isatty():
        await _bar(total, dispatcher, stream)
    else:
        await _lines(total, dispatcher)


async def _bar(total: int, dispatcher: Dispatcher, stream: TextIO) -> None:
    with tqdm(total=total, unit="msg", desc="delivering", file=stream, dynamic_ncols=True) as bar:
        shown = 0
        try:
            while True:
                await asyncio.sleep(REFRESH)
                now = done(dispatcher)
                bar.update(now - shown)
                shown = now
        finally:
            bar.update(done(dispatcher) - shown)


async def _lines(total: int, dispatcher: Dispatcher) -> None:
    started = time.monotonic()
    while True:
        await asyncio.sleep(LOG_EVERY)
        count, elapsed = done(dispatcher), time.monotonic() - started
        rate = count / elapsed if elapsed > 0 else 0.0
        left = f", about {max(0, total - count) / rate:.0f} s left" if rate > 0 else ""
        log.info("delivered %d of %d (%.1f a second%s)", count, total, rate, left)
