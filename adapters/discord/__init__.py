"""payforward on Discord: slash commands, 🙋 reactions, ask cards with persistent buttons,
modals and DMs, through discord.py.

`build` is what `payforward.bootstrap.run_platforms` calls; `handle` runs the core for
one normalized event and wakes the outbox dispatcher, which later delivers through the
adapter's `post`, `update` and `send_dm`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from adapters.discord.client import DiscordAdapter
from bot.events import Event
from bot.messages import Answer
from bot.ports import ChatAdapter

if TYPE_CHECKING:  # the composition root imports us, not the other way round
    from payforward.settings import Settings

__all__ = ["DiscordAdapter", "build"]


def build(settings: Settings, handle: Callable[[Event], Awaitable[list[Answer]]]) -> ChatAdapter:
    if settings.discord_token is None:
        raise ValueError("DISCORD_TOKEN is not set")
    return DiscordAdapter(
        token=settings.discord_token.get_secret_value(),
        handle=handle,
        api_url=settings.discord_api_url,
        gateway_url=settings.discord_gateway_url,
        guild_ids=settings.guild_ids(),
        shard_count=settings.discord_shard_count,
        shard_ids=settings.shard_ids(),
    )
