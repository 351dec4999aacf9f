"""A fake Discord, the real core on SQLite, and the Discord adapter between them."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.discord.client import DiscordAdapter
from bot.clock import SystemClock
from bot.domain import MessageRef
from bot.ports import ChatAdapter
from payforward.bootstrap import Core, migrate, open_core
from payforward.runtime import Runtime
from payforward.settings import Settings
from tests.adapters.discord.fake_discord import (
    TOKEN,
    Call,
    FakeDiscord,
    Json,
)

GUILD = 81_000_000_000_000_001
OTHER_GUILD = GUILD + (1 << 22)  # on the other shard when there are two
GENERAL = 82_000_000_000_000_001
OTHER_GENERAL = 82_000_000_000_000_002
ALICE = 83_000_000_000_000_001
BOB = 83_000_000_000_000_002
CAROL = 83_000_000_000_000_003
DAVE = 83_000_000_000_000_004


def discord_world() -> FakeDiscord:
    fake = FakeDiscord()
    for user_id, name in ((ALICE, "alice"), (BOB, "bob"), (CAROL, "carol"), (DAVE, "dave")):
        fake.add_user(user_id, name)
    fake.add_guild(GUILD, "One", {GENERAL: "general"})
    fake.add_guild(OTHER_GUILD, "Two", {OTHER_GENERAL: "general"})
    return fake


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test copies it (migrating is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "payforward.db"
    asyncio.run(migrate(Settings(_env_file=None, database_url=f"sqlite:///{path}")))  # type: ignore[call-arg]
    return path


@dataclass
class Harness:
    fake: FakeDiscord
    adapter: DiscordAdapter
    core: Core
    runtime: Runtime

    async def command(
        self, user_id: int, name: str, options: list[Json] | None = None, **kw: Any
    ) -> Json:
        guild = kw.pop("guild", GUILD)
        channel = kw.pop("channel", GENERAL if guild == GUILD else OTHER_GENERAL)
        return await self.fake.command(guild, channel, user_id, name, options, **kw)

    async def callback(self, interaction: Json) -> Json:
        """The bot's first answer (see `FakeDiscord.answer`)."""
        return await self.fake.answer(interaction)

    async def ask(self, user_id: int, text: str, guild: int = GUILD) -> tuple[Json, Call]:
        """Post an ask and return its card as the fake stored it, with the POST call."""
        channel = GENERAL if guild == GUILD else OTHER_GENERAL
        before = len(self.fake.matching(_card_post(channel)))
        interaction = await self.command(
            user_id, "ask", [{"type": 3, "name": "text", "value": text}], guild=guild
        )
        await self.callback(interaction)
        calls = await self.fake.wait_for(_card_post(channel), count=before + 1)
        post = calls[-1]
        card = next(
            m for m in reversed(self.fake.messages.values()) if m["channel_id"] == str(channel)
        )
        await self._card_known(guild, MessageRef(card["channel_id"], card["id"]))
        return card, post

    async def _card_known(self, guild: int, ref: MessageRef) -> None:
        """Until the core has recorded where the card is (reactions count from then on)."""

        async def known() -> bool:
            async with self.core.uow() as uow:
                return await uow.asks.by_message(f"discord:{guild}", ref) is not None

        async with asyncio.timeout(10):
            while not await known():  # noqa: ASYNC110 - the core records it; nothing to await
                await asyncio.sleep(0.01)

    async def settled(self) -> None:
        """Until the outbox is empty: everything the core queued has been delivered."""

        async def pending() -> int:
            async with self.core.uow() as uow:
                return await uow.outbox.pending_count()

        async with asyncio.timeout(10):
            while await pending():
                self.runtime.kick()
                await asyncio.sleep(0.02)


def _card_post(channel: int) -> Callable[[Call], bool]:
    return lambda c: c.method == "POST" and c.path == f"/channels/{channel}/messages"


@asynccontextmanager
async def running(
    tmp_path: Path, template: Path, fake: FakeDiscord, **adapter_options: Any
) -> AsyncIterator[Harness]:
    """The core on a copy of the migrated database, with a connected Discord adapter."""
    database = tmp_path / "payforward.db"
    shutil.copy(template, database)
    settings = Settings(_env_file=None, database_url=f"sqlite:///{database}")  # type: ignore[call-arg]
    adapters: dict[str, ChatAdapter] = {}
    async with open_core(settings, SystemClock(), adapters) as core:
        runtime = Runtime(core)
        adapter = DiscordAdapter(
            token=TOKEN,
            handle=runtime.handle,
            api_url=fake.api_url,
            gateway_url=fake.gateway_url,
            guild_ready_timeout=0.05,
            **adapter_options,
        )
        adapters[adapter.platform] = adapter
        await adapter.start()
        await runtime.start()
        try:
            yield Harness(fake, adapter, core, runtime)
        finally:
            await runtime.stop()
            await adapter.stop()


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    world = discord_world()
    await world.start()
    try:
        yield world
    finally:
        await world.close()


@pytest.fixture
async def bot(tmp_path: Path, migrated_db: Path, fake: FakeDiscord) -> AsyncIterator[Harness]:
    async with running(tmp_path, migrated_db, fake) as harness:
        yield harness
