"""`payforward run` as operators start it, pointed at the fake Discord by environment."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bot.clock import SystemClock
from bot.domain import MessageRef
from payforward.bootstrap import open_core
from payforward.settings import Settings
from tests.adapters.discord.conftest import ALICE, BOB, CAROL, GENERAL, GUILD
from tests.adapters.discord.fake_discord import (
    APP_ID,
    TOKEN,
    FakeDiscord,
    posted_to,
    text_of,
)

PLATFORM_VARIABLES = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET")


def payforward_command() -> list[str]:
    script = Path(sys.executable).with_name("payforward")
    return [str(script)] if script.exists() else [sys.executable, "-m", "payforward"]


async def card_recorded(database: Path, ref: MessageRef) -> None:
    """Until the running bot has stored where the ask card is."""
    settings = Settings(_env_file=None, database_url=f"sqlite:///{database}")  # type: ignore[call-arg]
    async with open_core(settings, SystemClock(), {}) as core, asyncio.timeout(20):
        while True:
            async with core.uow() as uow:
                if await uow.asks.by_message(f"discord:{GUILD}", ref) is not None:
                    return
            await asyncio.sleep(0.05)


async def test_payforward_run_serves_discord(tmp_path: Path, fake: FakeDiscord) -> None:
    database = tmp_path / "payforward.db"
    env = {k: v for k, v in os.environ.items() if k not in PLATFORM_VARIABLES}
    env |= {
        "DISCORD_TOKEN": TOKEN,
        "DISCORD_API_URL": fake.api_url,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "DATABASE_URL": f"sqlite:///{database}",
        "LOG_LEVEL": "INFO",
        "PAYFORWARD_HTTP_PORT": "0",  # never a fixed port: tests run side by side
    }
    process = await asyncio.create_subprocess_exec(
        *payforward_command(),
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await fake.wait_connected(within=60)
        [put] = fake.matching(lambda c: c.path == f"/applications/{APP_ID}/commands")
        assert {c["name"] for c in put.body} >= {"ask", "thanks", "give", "payforward"}

        asked = await fake.command(
            GUILD,
            GENERAL,
            ALICE,
            "ask",
            [{"type": 3, "name": "text", "value": "How do I profile asyncio code?"}],
        )
        reply = await fake.answer(asked, within=20)
        assert "Your ask is up as #1" in text_of(reply["data"])
        [post] = await fake.wait_for(posted_to(GENERAL), within=20)
        assert "How do I profile asyncio code?" in text_of(post.body)
        card = next(m for m in fake.messages.values() if m["channel_id"] == str(GENERAL))
        await card_recorded(database, MessageRef(str(GENERAL), card["id"]))

        reaction = await fake.react(GUILD, GENERAL, int(card["id"]), BOB)
        [dm] = await fake.wait_for(fake.dm_to(ALICE), within=20)
        assert f"<@{BOB}> offered to help with #1" in text_of(dm.body)

        await fake.replay(reaction)
        await fake.react(GUILD, GENERAL, int(card["id"]), CAROL)  # handled after the replay
        await fake.wait_for(
            lambda c: fake.dm_to(ALICE)(c) and f"<@{CAROL}>" in text_of(c.body), within=20
        )
        offers = [text_of(c.body) for c in fake.matching(fake.dm_to(ALICE))]
        assert sum(f"<@{BOB}> offered" in t for t in offers) == 1

        thanks = await fake.command(
            GUILD,
            GENERAL,
            ALICE,
            "thanks",
            [
                {"type": 6, "name": "member", "value": str(BOB)},
                {"type": 3, "name": "note", "value": "py-spy!"},
            ],
            resolved_users=(BOB,),
        )
        thanked = await fake.answer(thanks, within=20)
        assert f"Thanks sent to <@{BOB}>" in text_of(thanked["data"])

        board = await fake.command(
            GUILD, GENERAL, CAROL, "payforward", [{"type": 1, "name": "leaderboard", "options": []}]
        )
        shown = await fake.answer(board, within=20)
        assert f"<@{BOB}>" in text_of(shown["data"])

        too_long = await fake.command(
            GUILD, GENERAL, ALICE, "ask", [{"type": 3, "name": "text", "value": "x" * 3001}]
        )
        refused = await fake.answer(too_long, within=20)
        assert refused["data"]["flags"] & 64
        assert "limit is 3,000" in text_of(refused["data"])
        assert len(fake.matching(posted_to(GENERAL))) == 1
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, stderr.decode()[-2000:]
