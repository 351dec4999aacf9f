"""The Discord adapter's sending side alone, as `payforward jobs run` starts it: logged
in over REST, no gateway connection and no command sync, and still able to post and
to DM, with discord.py keeping Discord's per-route buckets."""

from __future__ import annotations

from adapters.discord.client import DiscordAdapter
from bot.events import Event
from bot.messages import Answer, Delivered, Message, text
from tests.adapters.discord.conftest import ALICE, GENERAL, GUILD
from tests.adapters.discord.fake_discord import TOKEN, FakeDiscord, posted_to, text_of


async def ignore(event: Event) -> list[Answer]:
    return []


async def test_sending_only_logs_in_over_rest_and_delivers(fake: FakeDiscord) -> None:
    adapter = DiscordAdapter(
        token=TOKEN, handle=ignore, api_url=fake.api_url, gateway_url=fake.gateway_url
    )
    await adapter.start_sending()
    try:
        community = f"discord:{GUILD}"
        post = await adapter.post(community, str(GENERAL), Message((text("the weekly board"),)))
        dm = await adapter.send_dm(community, str(ALICE), Message((text("a prompt"),)))
    finally:
        await adapter.stop()

    assert isinstance(post, Delivered) and isinstance(dm, Delivered)
    [board] = fake.matching(posted_to(GENERAL))
    assert "the weekly board" in text_of(board.body)
    assert fake.identifies == 0 and not fake.sessions  # no gateway
    assert not [c for c in fake.calls if c.method == "PUT"]  # no command sync
