"""`payforward jobs run` with no bot running: it queues the job's messages through the
once-only claims, starts only Slack's Web API client, delivers them and exits. Run
twice at once, the weekly board is still posted once."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

from bot.ports import UnitOfWorkFactory
from storage.db import make_engine
from storage.migrate import upgrade
from storage.uow import unit_of_work_factory
from tests.adapters.slack.conftest import SECRET
from tests.adapters.slack.fake_slack import Call, FakeSlack
from tests.adapters.test_cli import PLATFORM_VARIABLES, payforward_command
from tests.crowd import seed

MONDAY = "2026-11-30T09:00:00+00:00"


def is_board(call: Call) -> bool:
    return call.method == "chat.postMessage" and "Pay-it-forward week" in call.blocks_text()


async def seeded(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'payforward.db'}"
    await upgrade(url)
    engine = make_engine(url)
    try:
        uow: UnitOfWorkFactory = unit_of_work_factory(engine)
        await seed(uow, "slack:T1", ["UALICE", "UBOB"], channel="C1")
    finally:
        await engine.dispose()
    return url


async def jobs_run(tmp_path: Path, fake: FakeSlack, *args: str) -> tuple[int, str, str]:
    environment = {k: v for k, v in os.environ.items() if k not in PLATFORM_VARIABLES}
    environment |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'payforward.db'}",
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.api_url,
        "LOG_LEVEL": "INFO",
    }
    process = await asyncio.create_subprocess_exec(
        *payforward_command(),
        "jobs",
        "run",
        *args,
        cwd=tmp_path,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def outbox_statuses(tmp_path: Path) -> list[str]:
    with sqlite3.connect(tmp_path / "payforward.db") as db:
        return [status for (status,) in db.execute("SELECT status FROM outbox")]


async def test_jobs_run_with_no_bot_running_posts_the_weekly_board(
    tmp_path: Path, fake: FakeSlack
) -> None:
    await seeded(tmp_path)

    code, out, err = await jobs_run(tmp_path, fake, "leaderboard", "--at", MONDAY)

    assert code == 0, err
    assert out.strip() == "slack:T1  leaderboard 2026-11-23: done"
    [board] = [c for c in fake.calls if is_board(c)]
    assert board.args["channel"] == "C1"
    assert outbox_statuses(tmp_path) == ["sent"]
    assert "delivered 1 message(s)" in err
    assert not fake.of("apps.connections.open")  # no listener of any kind was started


async def test_jobs_run_twice_at_once_posts_the_board_once(tmp_path: Path, fake: FakeSlack) -> None:
    await seeded(tmp_path)

    runs = await asyncio.gather(
        *(jobs_run(tmp_path, fake, "leaderboard", "--at", MONDAY) for _ in range(2))
    )

    assert [code for code, _, _ in runs] == [0, 0], [err for _, _, err in runs]
    assert len([c for c in fake.calls if is_board(c)]) == 1
    assert outbox_statuses(tmp_path) == ["sent"]


async def test_jobs_run_queue_only_leaves_the_sending_to_the_bot(
    tmp_path: Path, fake: FakeSlack
) -> None:
    await seeded(tmp_path)

    code, _, err = await jobs_run(tmp_path, fake, "leaderboard", "--at", MONDAY, "--queue-only")

    assert code == 0, err
    assert fake.calls == [] and outbox_statuses(tmp_path) == ["pending"]
