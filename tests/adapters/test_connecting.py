"""Connecting with backoff: each failure one line, pauses doubling to a cap, an attempt
that hangs bounded, and cancelling (a stop signal) ends it wherever it is."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.domain import MessageRef
from bot.messages import Delivered, Delivery, Message
from payforward.connecting import connect, waits


class Flaky:
    """An adapter whose first `failures` starts fail (or hang, with `hang`)."""

    platform = "slack"

    def __init__(self, failures: int, *, hang: bool = False) -> None:
        self.failures = failures
        self.hang = hang
        self.starts = 0
        self.connected = False

    async def start(self) -> None:
        self.starts += 1
        if self.starts <= self.failures:
            if self.hang:
                await asyncio.Event().wait()
            raise ConnectionError("Slack refused the app token: invalid_auth")
        self.connected = True

    async def stop(self) -> None:
        self.connected = False

    async def post(self, community_id: str, channel_id: str, message: Message) -> Delivery:
        return Delivered(MessageRef(channel_id, "1"))

    async def update(self, community_id: str, ref: MessageRef, message: Message) -> Delivery:
        return Delivered(ref)

    async def send_dm(self, community_id: str, member_id: str, message: Message) -> Delivery:
        return Delivered(MessageRef(member_id, "1"))


def test_pauses_double_up_to_the_cap() -> None:
    assert waits(1, 60) == [1, 2, 4, 8, 16, 32, 60]


async def test_each_failure_is_one_line_and_the_pauses_grow(
    caplog: pytest.LogCaptureFixture,
) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    adapter = Flaky(failures=9)
    with caplog.at_level(logging.WARNING):
        attempts = await connect(adapter, first_wait=1, max_wait=60, sleep=sleep)

    assert attempts == 10 and adapter.connected
    assert slept == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 9
    assert lines[0] == (
        "Slack: could not connect (Slack refused the app token: invalid_auth); attempt 1, next in 1 s"
    )
    assert all(r.exc_info is None for r in caplog.records)


async def test_an_attempt_that_hangs_is_bounded(caplog: pytest.LogCaptureFixture) -> None:
    async def sleep(seconds: float) -> None:
        pass

    adapter = Flaky(failures=1, hang=True)
    attempts = await connect(adapter, attempt_seconds=0.05, sleep=sleep)

    assert attempts == 2
    assert "no answer within 0.05 s" in caplog.text


async def test_cancelling_ends_it_while_an_attempt_hangs() -> None:
    adapter = Flaky(failures=1000, hang=True)
    task = asyncio.create_task(connect(adapter))
    await asyncio.sleep(0)  # the task runs up to its first attempt's wait
    assert adapter.starts == 1

    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert not adapter.connected
