"""The Discord adapter's translate-in: interactions and raw gateway events as core events.

Ids: a community is `discord:<guild_id>`, members and channels are snowflakes as
strings. Command text is handed over in the core's canonical form (`<@id>`, `<#id>`):
Discord already sends mentions typed into string options as `<@id>` and `<#id>`, so
only the old nickname form `<@!id>` and role mentions need attention — a role mention
`<@&id>` would otherwise read as a member id, so it becomes plain `@role` text.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterable, Mapping

import discord

from bot.domain import MessageRef
from bot.events import MemberInfo, ReactionAdded, ReactionRemoved

PLATFORM = "discord"
_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")

# The gateway dispatch (session id, sequence number) being parsed right now. Set around
# discord.py's reaction parsers (see `client.track_dispatch_ids`) and copied into the
# handler task that the parser schedules, so the handler knows which dispatch it serves.
current_dispatch: contextvars.ContextVar[tuple[str, int] | None] = contextvars.ContextVar(
    "payforward_discord_dispatch", default=None
)


def community_id(guild_id: int) -> str:
    return f"{PLATFORM}:{guild_id}"


def guild_of(community: str) -> int:
    """The guild snowflake of a `discord:<guild_id>` community id."""
    platform, _, guild = community.partition(":")
    if platform != PLATFORM or not guild.isdigit():
        raise ValueError(f"not a Discord community id: {community!r}")
    return int(guild)


def is_admin(permissions: discord.Permissions) -> bool:
    """*Manage Server* (or Administrator, which implies it) in the interaction's channel."""
    return permissions.manage_guild or permissions.administrator


def member_info(user: discord.abc.User, *, admin: bool | None = None) -> MemberInfo:
    """`admin` None: not known here (only an interaction carries the member's permissions)."""
    return MemberInfo(
        member_id=str(user.id),
        display_name=user.display_name,
        is_bot=user.bot,
        is_admin=admin,
    )


def canonical_text(text: str, role_name: Mapping[int, str] | None = None) -> str:
    """Member text with `<@!id>` as `<@id>` and role mentions as inert `@role` text."""
    text = _USER_MENTION.sub(lambda m: f"<@{m.group(1)}>", text)
    names = role_name or {}
    return _ROLE_MENTION.sub(lambda m: "@" + names.get(int(m.group(1)), "role"), text)


def mentioned_ids(text: str) -> list[int]:
    return [int(found) for found in dict.fromkeys(_USER_MENTION.findall(text))]


def describe_mentions(users: Iterable[discord.abc.User]) -> dict[str, MemberInfo]:
    return {str(user.id): member_info(user) for user in users}


def reaction_event_id(payload: discord.RawReactionActionEvent) -> str:
    """The id that makes a gateway replay of the same dispatch count once.

    A replay (after a RESUME) repeats the dispatch with its session and sequence
    number, so `session:sequence` names it exactly, while a member who un-reacts and
    reacts again produces new dispatches that count again. Without a known dispatch
    (an event synthesized outside the gateway) the reaction's own facts are used; the
    core's offer logic makes a repeat of those harmless as well.
    """
    dispatch = current_dispatch.get()
    if dispatch is not None:
        session, sequence = dispatch
        return f"gw:{session}:{sequence}"
    kind = "add" if payload.event_type == "REACTION_ADD" else "remove"
    return f"rx:{kind}:{payload.message_id}:{payload.user_id}:{payload.emoji}"


def reaction_event(
    payload: discord.RawReactionActionEvent, actor: MemberInfo, guild_name: str | None = None
) -> ReactionAdded | ReactionRemoved:
    assert payload.guild_id is not None
    event_type = ReactionAdded if payload.event_type == "REACTION_ADD" else ReactionRemoved
    return event_type(
        event_id=reaction_event_id(payload),
        community_id=community_id(payload.guild_id),
        actor=actor,
        channel_id=str(payload.channel_id),
        message=MessageRef(str(payload.channel_id), str(payload.message_id)),
        emoji=str(payload.emoji),
        raw=payload,
        community_name=guild_name,
    )
