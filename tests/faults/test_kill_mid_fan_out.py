"""`kill -9` of `payforward run` in the middle of the weekly prompts, then a restart.

Each delivery is recorded as it completes, so the only messages sent twice are those
that were on their way when the process died (sent, not yet recorded), and none is
lost: the killed process's leases lapse within seconds and the new process sends
the rest.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.dispatch import IN_FLIGHT
from storage.db import make_engine
from storage.migrate import upgrade
from storage.uow import unit_of_work_factory
from tests.adapters.slack.conftest import SECRET
from tests.adapters.slack.fake_slack import Call, FakeSlack
from tests.adapters.test_cli import PLATFORM_VARIABLES, payforward_command
from tests.crowd import member_ids, seed

MEMBERS = member_ids(60)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = FakeSlack()
    await slack.start()
    try:
        yield slack
    finally:
        await slack.stop()


def is_prompt(call: Call) -> bool:
    return call.method == "chat.postMessage" and "What have you shared lately" in (
        call.blocks_text()
    )


def environment(tmp_path: Path, fake: FakeSlack) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PLATFORM_VARIABLES}
    return env | {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'payforward.db'}",
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.api_url,
        "PAYFORWARD_HTTP_PORT": "0",
        "PAYFORWARD_SLACK_POST_RATE": "20",
        "LOG_LEVEL": "WARNING",
    }


async def start(tmp_path: Path, fake: FakeSlack, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *payforward_command(),
        *args,
        cwd=tmp_path,
        env=environment(tmp_path, fake),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


def recorded(tmp_path: Path) -> dict[str, str]:
    """Each prompt's status in the outbox, by member."""
    with sqlite3.connect(tmp_path / "payforward.db") as db:
        return dict(db.execute("SELECT member_id, status FROM outbox"))


async def until(check: Callable[[], bool], within: float) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "gave up waiting"
        await asyncio.sleep(0.01)


async def test_kill_9_mid_fan_out_loses_nothing_and_resends_only_what_was_on_the_wire(
    tmp_path: Path, fake: FakeSlack
) -> None:
    url = f"sqlite:///{tmp_path / 'payforward.db'}"
    await upgrade(url)
    engine = make_engine(url)
    await seed(unit_of_work_factory(engine), "slack:T1", MEMBERS)
    await engine.dispose()
    queued = await start(tmp_path, fake, "jobs", "run", "prompts", "--queue-only")
    assert await queued.wait() == 0

    first = await start(tmp_path, fake, "run")
    await until(lambda: sum(map(is_prompt, fake.calls)) >= 20, within=60)
    first.send_signal(signal.SIGKILL)
    await first.wait()
    received = {c.args["channel"] for c in fake.calls if is_prompt(c)}
    statuses = recorded(tmp_path)
    on_the_wire = {m for m in received if statuses[m] != "sent"}  # sent, never recorded
    assert len(received) < len(MEMBERS)  # killed in the middle
    assert len(on_the_wire) <= IN_FLIGHT

    second = await start(tmp_path, fake, "run")
    try:
        await until(lambda: set(recorded(tmp_path).values()) == {"sent"}, within=60)
    finally:
        second.send_signal(signal.SIGTERM)
        assert await second.wait() == 0

    prompts = Counter(c.args["channel"] for c in fake.calls if is_prompt(c))
    assert sorted(prompts) == MEMBERS  # none lost
    twice = {m for m, n in prompts.items() if n > 1}
    assert twice <= on_the_wire and max(prompts.values()) <= 2
