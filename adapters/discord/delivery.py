"""Sending what the outbox dispatcher hands over, and what Discord's refusals mean for it.

Channel posts, DMs and edits go through partial channel objects, so nothing has to be
in discord.py's cache (no member intent, no message cache). discord.py keeps Discord's
per-route buckets and global limit and waits out short 429s itself; a longer one comes
back as a throttled `RetryAfter` (the dispatcher holds the bulk budget, or that one
message, for it: adapters/discord/limits.py). Errors a retry cannot fix (cannot DM
this user, unknown message or channel, missing access) become `Undeliverable`, so the
dispatcher neither retries them nor storms; server errors and broken connections are
raised, and the dispatcher backs off.
"""

from __future__ import annotations

from typing import Any

import discord

from adapters.discord import render
from adapters.discord.views import build_view
from bot.domain import MessageRef
from bot.messages import Delivery, Message, RetryAfter, Undeliverable

# Discord JSON error codes a retry will not fix.
UNKNOWN_CHANNEL = 10003
UNKNOWN_MESSAGE = 10008
UNKNOWN_USER = 10013
MISSING_ACCESS = 50001
CANNOT_DM = 50007
MISSING_PERMISSIONS = 50013
PERMANENT = {
    UNKNOWN_CHANNEL: "unknown channel",
    UNKNOWN_MESSAGE: "unknown message (deleted?)",
    UNKNOWN_USER: "unknown user",
    MISSING_ACCESS: "missing access to the channel",
    CANNOT_DM: "cannot send this member direct messages",
    MISSING_PERMISSIONS: "missing permissions in the channel",
}


async def post(
    client: discord.Client, guild_id: int, channel_id: str, message: Message
) -> MessageRef:
    channel = client.get_partial_messageable(int(channel_id), guild_id=guild_id)
    out = render.render(message)
    kwargs: dict[str, Any] = {"embeds": out.embeds, "allowed_mentions": out.allowed_mentions}
    view = build_view(guild_id, message.buttons)
    if view is not None:
        kwargs["view"] = view
    if out.file is not None:
        kwargs["file"] = out.file
    sent = await channel.send(**kwargs)
    return MessageRef(str(sent.channel.id), str(sent.id))


async def send_dm(
    client: discord.Client, guild_id: int, member_id: str, message: Message
) -> MessageRef:
    channel = await client.create_dm(discord.Object(int(member_id)))
    return await post(client, guild_id, str(channel.id), message)


async def update(
    client: discord.Client, guild_id: int, ref: MessageRef, message: Message
) -> MessageRef:
    channel = client.get_partial_messageable(int(ref.channel_id), guild_id=guild_id)
    out = render.render(message)
    view = build_view(guild_id, message.buttons) or discord.ui.View(timeout=None)
    await channel.get_partial_message(int(ref.message_id)).edit(
        embeds=out.embeds, view=view, allowed_mentions=out.allowed_mentions
    )
    return ref


def delivery_of(error: discord.HTTPException) -> Delivery:
    """The outcome of a failed send, or the error again when a retry may help."""
    reason = PERMANENT.get(error.code)
    if reason is not None:
        return Undeliverable(f"discord {error.code}: {reason}")
    if isinstance(error, discord.DiscordServerError):
        raise error
    if 400 <= error.status < 500 and error.status != 429:
        return Undeliverable(f"discord {error.status}/{error.code}: {error.text[:200]}")
    raise error


def rate_limited(limited: discord.RateLimited) -> RetryAfter:
    """A 429 longer than discord.py waits out by itself (MAX_RATELIMIT_WAIT)."""
    return RetryAfter(limited.retry_after, "rate limited", throttled=True)
