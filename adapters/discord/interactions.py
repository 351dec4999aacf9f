"""Interactions and reactions in, answers out: the bridge between discord.py and the core.

Answering interactions: Discord wants the first response within 3 s, and the core
answers in milliseconds when idle but queues behind the database when busy (measured
by bench/discord_interactions.py). So commands and form submissions are acknowledged
at once with an ephemeral "thinking…" that the answer then replaces: the deadline never
depends on the database. A button press may open a form, which must be the first
response, so it waits for the core up to `RESPONSE_BUDGET` and answers in one round
trip, deferring only when the core is slower than that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import aiohttp
import discord

from adapters.discord import render, translate
from adapters.discord.delivery import send_dm
from adapters.discord.views import build_modal, build_view, parse_form_id
from adapters.discord.views import submitted_fields as read_fields
from bot.domain import MessageRef
from bot.events import ButtonPressed, CommandInvoked, Event, FormSubmitted, MemberInfo
from bot.messages import Answer, Message, OpenForm, Reply
from bot.messages import text as text_block

log = logging.getLogger(__name__)

Handle = Callable[[Event], Awaitable[list[Answer]]]

RESPONSE_BUDGET = 2.0  # seconds a button press waits for the core before deferring
NAME_LOOKUP_TIMEOUT = 0.5  # names for a modal: it must still open within 3 s
ALREADY_ACKNOWLEDGED = 40060
UNKNOWN_INTERACTION = 10062


class Bridge:
    """Interactions and reactions in, answers out: the part between discord.py and the core."""

    def __init__(self, client: discord.Client, handle: Handle) -> None:
        self._client = client
        self._handle = handle
        self._names: dict[int, str] = {}  # display names seen, for labelling modal choices
        self._reaction_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    # Translate in.

    async def on_command(
        self,
        interaction: discord.Interaction,
        command: str,
        text: str,
        users: Sequence[discord.abc.User] = (),
    ) -> None:
        guild = interaction.guild
        roles = {role.id: role.name for role in guild.roles} if guild else {}
        text = translate.canonical_text(text, roles)
        mentioned: dict[int, discord.abc.User] = {user.id: user for user in users}
        for user_id in translate.mentioned_ids(text):
            found = mentioned.get(user_id) or self._known_user(interaction, user_id)
            if found is not None:
                mentioned[user_id] = found
        self._remember(*mentioned.values())
        event = CommandInvoked(
            event_id=str(interaction.id),
            community_id=translate.community_id(self._guild_id(interaction)),
            actor=self._actor(interaction),
            channel_id=str(interaction.channel_id) if interaction.channel_id else None,
            command=command,
            text=text,
            mentions=translate.describe_mentions(mentioned.values()),
            raw=interaction,
            community_name=guild.name if guild else None,
            channel_name=getattr(interaction.channel, "name", None),
        )
        await self._answer(
            interaction, event, guild_id=self._guild_id(interaction), defer_first=True
        )

    async def on_button(
        self, interaction: discord.Interaction, claimed_guild: int, action: str, value: str
    ) -> None:
        """`claimed_guild` is the guild the button's custom id names (see `_acting_guild`)."""
        guild_id, from_platform = _acting_guild(interaction, claimed_guild)
        message = None
        if interaction.message is not None:
            message = MessageRef(str(interaction.message.channel.id), str(interaction.message.id))
        event = ButtonPressed(
            event_id=str(interaction.id),
            community_id=translate.community_id(guild_id),
            actor=self._actor(interaction),
            channel_id=str(interaction.channel_id) if interaction.channel_id else None,
            action=action,
            value=value,
            message=message,
            raw=interaction,
            community_from_platform=from_platform,
            community_name=interaction.guild.name if interaction.guild else None,
        )
        await self._answer(interaction, event, guild_id=guild_id, defer_first=False)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Modal submissions, read from the payload so they outlive a restart."""
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        data: Mapping[str, Any] = interaction.data or {}
        parsed = parse_form_id(str(data.get("custom_id", "")))
        if parsed is None:
            return
        claimed_guild, form, value = parsed
        guild_id, from_platform = _acting_guild(interaction, claimed_guild)
        event = FormSubmitted(
            event_id=str(interaction.id),
            community_id=translate.community_id(guild_id),
            actor=self._actor(interaction),
            channel_id=str(interaction.channel_id) if interaction.channel_id else None,
            form=form,
            value=value,
            fields=read_fields(data.get("components") or ()),
            raw=interaction,
            community_from_platform=from_platform,
            community_name=interaction.guild.name if interaction.guild else None,
        )
        await self._answer(interaction, event, guild_id=guild_id, defer_first=True)

    async def on_reaction(self, payload: discord.RawReactionActionEvent) -> None:
        """A 🙋 (or any reaction) on a message, cached or not; the bot's own are ignored."""
        if payload.guild_id is None:
            return  # reactions in DMs are nobody's offer
        me = self._client.user
        if me is not None and payload.user_id == me.id:
            return
        user = payload.member or self._client.get_user(payload.user_id)
        if user is not None:
            self._remember(user)
            actor = translate.member_info(user)
        else:
            actor = MemberInfo(
                str(payload.user_id), self._names.get(payload.user_id), is_admin=None
            )
        guild = self._client.get_guild(payload.guild_id)
        event = translate.reaction_event(payload, actor, guild.name if guild else None)
        # One message's reactions are handled in the order they arrived (the lock is
        # FIFO), so a quick un-react and re-react cannot overtake each other.
        lock = self._reaction_locks.setdefault(payload.message_id, asyncio.Lock())
        async with lock:
            answers = await self._handle(event)
        # No interaction to answer privately in: a short acknowledgement goes by DM.
        for answer in answers:
            if isinstance(answer, Reply):
                await self._dm_quietly(event.community_id, actor.member_id, answer.message)

    # Answer.

    async def _answer(
        self,
        interaction: discord.Interaction,
        event: Event,
        *,
        guild_id: int,
        defer_first: bool,
    ) -> None:
        """Run the core and answer: deferred first, or directly when it is quick enough.

        Commands and form submissions are deferred at once: they never open a form, and
        the acknowledgement then never waits on the database. A button press may open a
        form (which must be the first answer), so it waits up to `RESPONSE_BUDGET`."""
        if defer_first:
            acknowledged = await self._defer(interaction)
            answers = await self._handle(event)
            if acknowledged:
                await self._send(interaction, answers, guild_id, placeholder=True)
            return
        work = asyncio.ensure_future(self._handle(event))
        done, _ = await asyncio.wait({work}, timeout=RESPONSE_BUDGET)
        if work in done:
            await self._send(interaction, work.result(), guild_id, placeholder=False)
            return
        log.info("the core is slow on interaction %s; deferring", interaction.id)
        acknowledged = await self._defer(interaction)
        answers = await work
        if acknowledged:
            await self._send(interaction, answers, guild_id, placeholder=True)

    async def _defer(self, interaction: discord.Interaction) -> bool:
        """An ephemeral "thinking…" placeholder; False when the interaction was answered
        already (a replayed INTERACTION_CREATE) or has expired."""
        try:
            await interaction.response.defer(ephemeral=True, thinking=True)
        except discord.HTTPException as error:
            if error.code in (ALREADY_ACKNOWLEDGED, UNKNOWN_INTERACTION):
                log.info("interaction %s was answered already or expired", interaction.id)
                return False
            raise
        return True

    async def _send(
        self,
        interaction: discord.Interaction,
        answers: list[Answer],
        guild_id: int,
        *,
        placeholder: bool,
    ) -> None:
        """The core's answers; the first replaces the "thinking…" placeholder if any."""
        try:
            for answer in answers:
                if isinstance(answer, OpenForm) and not placeholder:
                    modal = await build_modal(guild_id, answer.form, self._names_of)
                    await interaction.response.send_modal(modal)
                    continue
                message = answer.message if isinstance(answer, Reply) else copy_too_slow()
                await self._reply(interaction, message, guild_id, replace=placeholder)
                placeholder = False
            if placeholder:  # thinking, with nothing to say after all
                await interaction.delete_original_response()
            elif not answers and not interaction.response.is_done():
                # A press that changed nothing visible (or a replay): acknowledge quietly.
                await interaction.response.defer()
        except discord.HTTPException as error:
            if error.code in (ALREADY_ACKNOWLEDGED, UNKNOWN_INTERACTION):
                log.info("interaction %s was answered already or expired", interaction.id)
                return
            raise

    async def _reply(
        self, interaction: discord.Interaction, message: Message, guild_id: int, *, replace: bool
    ) -> None:
        out = render.render(message)
        view = build_view(guild_id, message.buttons)
        kwargs: dict[str, Any] = {"embeds": out.embeds, "allowed_mentions": out.allowed_mentions}
        if view is not None:
            kwargs["view"] = view
        if replace:
            if out.file is not None:
                kwargs["attachments"] = [out.file]
            await interaction.edit_original_response(**kwargs)
            return
        if out.file is not None:
            kwargs["file"] = out.file
        if interaction.response.is_done():
            await interaction.followup.send(ephemeral=True, **kwargs)
        else:
            await interaction.response.send_message(ephemeral=True, **kwargs)

    async def _dm_quietly(self, community: str, member_id: str, message: Message) -> None:
        try:
            await send_dm(self._client, translate.guild_of(community), member_id, message)
        except (discord.HTTPException, aiohttp.ClientError, OSError) as error:
            log.info("could not DM an acknowledgement to %s: %s", member_id, error)

    # Members.

    def _guild_id(self, interaction: discord.Interaction) -> int:
        if interaction.guild_id is None:
            raise ValueError("guild-only command used outside a guild")
        return interaction.guild_id

    def _actor(self, interaction: discord.Interaction) -> MemberInfo:
        self._remember(interaction.user)
        return translate.member_info(
            interaction.user, admin=translate.is_admin(interaction.permissions)
        )

    def _known_user(
        self, interaction: discord.Interaction, user_id: int
    ) -> discord.abc.User | None:
        guild = interaction.guild
        member = guild.get_member(user_id) if guild else None
        return member or self._client.get_user(user_id)

    def _remember(self, *users: discord.abc.User) -> None:
        for user in users:
            self._names[user.id] = user.display_name
        if len(self._names) > 50_000:  # a bounded cache: forget the oldest half
            for key in list(self._names)[:25_000]:
                del self._names[key]

    async def _names_of(self, member_ids: Sequence[str]) -> Mapping[str, str]:
        """Display names for modal choices: from what we have seen, else asked of Discord."""
        names: dict[str, str] = {}
        missing: list[int] = []
        for member_id in member_ids:
            if not member_id.isdigit():
                continue
            known = self._names.get(int(member_id))
            if known is not None:
                names[member_id] = known
            else:
                missing.append(int(member_id))
        if missing:
            with contextlib.suppress(TimeoutError, discord.HTTPException):
                async with asyncio.timeout(NAME_LOOKUP_TIMEOUT):
                    users = await asyncio.gather(*(self._client.fetch_user(u) for u in missing))
                    self._remember(*users)
                    names.update({str(user.id): user.display_name for user in users})
        return names


def _acting_guild(interaction: discord.Interaction, claimed: int) -> tuple[int, bool]:
    """The guild an interaction acts in, and whether Discord vouches for it.

    In a guild, always the interaction's own: a custom id is data anyone can copy
    into a message of another guild, so the guild it names is never trusted there.
    In a DM (no guild), the custom id's guild, as a claim: the core acts only if the
    member is already one it stores for that guild (`Event.community_from_platform`).
    Stored members, not the gateway's guild cache: without the privileged members
    intent the cache holds no members, and a DM button only ever reaches someone
    the bot stored as a member when it queued the DM."""
    if interaction.guild_id is not None:
        return interaction.guild_id, True
    return claimed, False


def copy_too_slow() -> Message:
    """A form could not open: a modal must be an interaction's first answer."""
    return Message(
        blocks=(
            text_block("That took me too long to open the form — please press the button again."),
        )
    )
