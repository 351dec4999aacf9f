"""The connection: command registration, intents, resuming after a drop, replays,
rate limits, the bot's own reactions and keeping guilds apart."""

from __future__ import annotations

from pathlib import Path

import discord
import pytest
from pydantic import SecretStr

from adapters.discord import build
from adapters.discord.client import DiscordAdapter, intents
from bot.events import Event
from bot.messages import Answer
from payforward.settings import Settings
from tests.adapters.discord.conftest import (
    ALICE,
    BOB,
    CAROL,
    GENERAL,
    GUILD,
    OTHER_GENERAL,
    OTHER_GUILD,
    Harness,
    running,
)
from tests.adapters.discord.fake_discord import (
    APP_ID,
    BOT_ID,
    FakeDiscord,
    Json,
    is_callback,
    posted_to,
    text_of,
)

COMMANDS = {"ask", "thanks", "give", "payforward", "payforward-admin"}


def offered_dms(bot: Harness, asker: int) -> list[str]:
    return [
        text_of(c.body)
        for c in bot.fake.matching(bot.fake.dm_to(asker))
        if "offered to help" in text_of(c.body)
    ]


async def test_commands_are_registered_globally_with_admin_ones_gated(bot: Harness) -> None:
    [put] = bot.fake.matching(
        lambda c: c.method == "PUT" and c.path == f"/applications/{APP_ID}/commands"
    )
    by_name = {command["name"]: command for command in put.body}
    assert set(by_name) == COMMANDS
    assert str(by_name["payforward-admin"]["default_member_permissions"]) == "32"  # Manage Server
    assert by_name["ask"]["default_member_permissions"] is None
    subcommands = {option["name"] for option in by_name["payforward"]["options"]}
    assert subcommands == {
        "me",
        "leaderboard",
        "interests",
        "who",
        "optout",
        "optin",
        "timezone",
        "export",
        "forget",
        "dashboard",
        "help",
    }


async def test_commands_sync_per_guild_when_guild_ids_are_set(
    tmp_path: Path, migrated_db: Path, fake: FakeDiscord
) -> None:
    async with running(tmp_path, migrated_db, fake, guild_ids=[GUILD]):
        [per_guild] = fake.matching(
            lambda c: c.path == f"/applications/{APP_ID}/guilds/{GUILD}/commands"
        )
        [global_] = fake.matching(lambda c: c.path == f"/applications/{APP_ID}/commands")
    assert {command["name"] for command in per_guild.body} == COMMANDS
    assert global_.body == []  # no stale global duplicates


async def test_a_bad_token_fails_start_plainly(fake: FakeDiscord) -> None:
    adapter = DiscordAdapter(
        token="not-the-token",
        handle=_nothing,
        api_url=fake.api_url,
        gateway_url=fake.gateway_url,
    )
    with pytest.raises(discord.LoginFailure):
        await adapter.start()
    assert adapter.client.is_closed()
    assert fake.identifies == 0


async def _nothing(event: Event) -> list[Answer]:
    return []


def test_intents_are_the_fewest_that_work() -> None:
    wanted = intents()
    assert wanted.guilds and wanted.guild_reactions
    assert not (wanted.message_content or wanted.members or wanted.presences)
    assert not (wanted.guild_messages or wanted.dm_messages)


async def test_the_bot_resumes_after_the_gateway_drops_and_misses_nothing(bot: Harness) -> None:
    await bot.fake.drop()
    # Sent while the bot is away: the RESUME replays it.
    interaction = await bot.command(
        ALICE, "ask", [{"type": 3, "name": "text", "value": "Still there?"}]
    )

    reply = await bot.callback(interaction)

    assert "Your ask is up as #1" in text_of(reply["data"])
    assert bot.fake.resumes == 1 and bot.fake.identifies == 1
    await bot.fake.wait_for(posted_to(GENERAL))


async def test_a_replayed_reaction_counts_once_but_a_new_one_counts_again(bot: Harness) -> None:
    card, _ = await bot.ask(ALICE, "Anyone used Alembic branches?")
    message_id = int(card["id"])

    dispatched = await bot.fake.react(GUILD, GENERAL, message_id, BOB)
    await bot.fake.wait_for(bot.fake.dm_to(BOB))  # the helper's ack: the offer is in
    await bot.fake.replay(dispatched)  # the same dispatch again, same session and sequence
    await bot.fake.react(GUILD, GENERAL, message_id, BOB, add=False)
    await bot.fake.react(GUILD, GENERAL, message_id, BOB)  # a new offer after withdrawing
    await bot.fake.react(GUILD, GENERAL, message_id, CAROL)

    await bot.fake.wait_until(lambda: len(offered_dms(bot, ALICE)) == 3)
    await bot.settled()
    texts = offered_dms(bot, ALICE)
    assert sum(f"<@{BOB}>" in t for t in texts) == 2  # the replay added nothing
    assert sum(f"<@{CAROL}>" in t for t in texts) == 1


async def test_a_replayed_interaction_is_answered_and_acted_on_once(bot: Harness) -> None:
    interaction = await bot.command(ALICE, "ask", [{"type": 3, "name": "text", "value": "Once?"}])
    await bot.callback(interaction)

    await bot.fake.replay(bot.fake.envelopes[interaction["id"]])

    [_, again] = await bot.fake.wait_for(is_callback(interaction), count=2)
    assert again.body["type"] == 5  # the replay's deferral, refused: already acknowledged
    await bot.settled()
    assert len(bot.fake.matching(posted_to(GENERAL))) == 1
    assert len(bot.fake.matching(lambda c: c.path.endswith("/messages/@original"))) == 1


async def test_the_bots_own_reactions_are_ignored(bot: Harness) -> None:
    card, _ = await bot.ask(ALICE, "What is a good first issue?")

    await bot.fake.react(GUILD, GENERAL, int(card["id"]), BOT_ID)
    await bot.fake.react(GUILD, GENERAL, int(card["id"]), CAROL)  # handled after the bot's

    await bot.fake.wait_until(lambda: len(offered_dms(bot, ALICE)) == 1)
    await bot.settled()
    [only] = offered_dms(bot, ALICE)
    assert f"<@{CAROL}>" in only
    patches = bot.fake.matching(lambda c: c.method == "PATCH")
    assert all(f"<@{BOT_ID}>" not in text_of(c.body) for c in patches)


async def test_two_guilds_never_mix(bot: Harness) -> None:
    card_one, _ = await bot.ask(ALICE, "Question in guild one", guild=GUILD)
    card_two, _ = await bot.ask(BOB, "Question in guild two", guild=OTHER_GUILD)
    assert card_one["channel_id"] == str(GENERAL) and card_two["channel_id"] == str(OTHER_GENERAL)
    assert all(f"pf:{OTHER_GUILD}:" in i for i in _ids(card_two))

    # A reaction that claims guild two but points at guild one's card does nothing.
    await bot.fake.react(OTHER_GUILD, GENERAL, int(card_one["id"]), CAROL)
    await bot.fake.react(OTHER_GUILD, OTHER_GENERAL, int(card_two["id"]), CAROL)

    await bot.fake.wait_until(lambda: len(offered_dms(bot, BOB)) == 1)
    await bot.settled()
    assert offered_dms(bot, ALICE) == []
    async with bot.core.uow() as uow:
        one = await uow.asks.by_number(f"discord:{GUILD}", 1)
        two = await uow.asks.by_number(f"discord:{OTHER_GUILD}", 1)
        assert one is not None and two is not None
        assert await uow.asks.offers(one.id) == []
        assert [o.member_id for o in await uow.asks.offers(two.id)] == [str(CAROL)]

    # Both guilds number their asks from 1; each card says so.
    assert "#1" in text_of(bot.fake.matching(posted_to(OTHER_GENERAL))[0].body)


async def test_a_429_is_waited_out_and_nothing_is_lost(bot: Harness) -> None:
    bot.fake.rate_limit_once("POST", f"/channels/{GENERAL}/messages", retry_after=0.2)

    _, post = await bot.ask(ALICE, "Rate limits, anyone?")

    limited = bot.fake.matching(lambda c: c.path.endswith("[429]"))
    assert len(limited) == 1
    assert "Rate limits, anyone?" in text_of(post.body)
    assert len(bot.fake.matching(posted_to(GENERAL))) == 1
    await bot.settled()


def _ids(message: Json) -> list[str]:
    return [c["custom_id"] for row in message.get("components", []) for c in row["components"]]


async def test_a_sharded_bot_serves_guilds_on_every_shard(
    tmp_path: Path, migrated_db: Path, fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def identify_at_once(
        self: object, shard_id: int | None, *, initial: bool = False
    ) -> None:
        """discord.py waits 5 s between shards' IDENTIFYs, as Discord requires; the fake doesn't."""

    monkeypatch.setattr(discord.AutoShardedClient, "before_identify_hook", identify_at_once)
    async with running(tmp_path, migrated_db, fake, shard_count=2) as bot:
        assert sorted(s.shard for s in fake.sessions.values()) == [(0, 2), (1, 2)]
        card_one, _ = await bot.ask(ALICE, "Shard zero?", guild=GUILD)
        card_two, _ = await bot.ask(BOB, "Shard one?", guild=OTHER_GUILD)

        dispatched = await fake.react(OTHER_GUILD, OTHER_GENERAL, int(card_two["id"]), CAROL)
        await fake.replay(dispatched, OTHER_GUILD)
        await fake.react(OTHER_GUILD, OTHER_GENERAL, int(card_two["id"]), ALICE)

        await fake.wait_until(lambda: len(offered_dms(bot, BOB)) == 2)
        await bot.settled()
        assert sum(f"<@{CAROL}>" in t for t in offered_dms(bot, BOB)) == 1
        assert card_one["channel_id"] == str(GENERAL)


async def test_build_reads_the_discord_settings() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        discord_token=SecretStr("token"),
        discord_guild_ids="81000000000000001, 81000000000000002",
        discord_shard_count=2,
    )

    adapter = build(settings, _nothing)

    assert isinstance(adapter, DiscordAdapter) and adapter.platform == "discord"
    assert isinstance(adapter.client, discord.AutoShardedClient)
    assert adapter.client.shard_count == 2
    assert adapter.guild_ids == (81000000000000001, 81000000000000002)
    await adapter.stop()
