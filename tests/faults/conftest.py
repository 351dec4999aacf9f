"""The fault suite's shared parts: a Hypothesis profile, a log that counts tracebacks,
and a running payforward on its own event loop thread for fuzzing through adapters.

Hypothesis drives plain (synchronous) test functions; the adapter under fuzz runs
on a loop in a thread of its own for the whole module, so each example is one
round trip to it rather than a new bot.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Iterator
from concurrent.futures import Future
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, settings

T = TypeVar("T")

# No deadline: the machine is shared and its speed swings; examples are bounded by count.
settings.register_profile(
    "faults",
    deadline=None,
    max_examples=100,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same examples on every run: CI is reproducible
)
FAULTS = settings.get_profile("faults")


class Tracebacks(logging.Handler):
    """Every log record with a traceback (exc_info), and every record's length."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")
        if record.exc_info:
            self.records.append(record)

    def describe(self) -> str:
        return "; ".join(f"{r.name}: {r.getMessage()}" for r in self.records[:5])


@pytest.fixture
def tracebacks() -> Iterator[Tracebacks]:
    handler = Tracebacks()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


class LoopThread:
    """An event loop in a thread: `run(coroutine)` waits for its result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, work: Awaitable[T], timeout: float = 60.0) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(_await(work), self.loop)
        return future.result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


async def _await(work: Awaitable[T]) -> T:
    return await work


def no_tracebacks(log: Tracebacks) -> None:
    assert not log.records, log.describe()


__all__ = ["FAULTS", "LoopThread", "Tracebacks", "no_tracebacks"]
