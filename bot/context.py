"""What a use case works with: one unit of work, the instant, the community and the
member who acted, plus the few ways the core speaks (queued DMs, posts and updates)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot import copy
from bot.calendar import deliverable_at
from bot.domain import Ask, AskStatus, Community, Member, MessageRef, OfferStatus, OptOut
from bot.events import ButtonPressed, Event, MemberInfo
from bot.messages import Answer, Message, Priority, Reply, ToChannel, ToMember, ToMessage
from bot.ports import UnitOfWork

ACTIVITY_RESOLUTION = timedelta(hours=1)  # how stale last_active_at may get before a write


class Refusal(Exception):
    """A plain-words no, answered to the member only; nothing is saved."""

    def __init__(self, message: Message | str) -> None:
        super().__init__(message if isinstance(message, str) else message.plain())
        self.message = message if isinstance(message, Message) else copy.refusal(message)


@dataclass
class Context:
    uow: UnitOfWork
    now: datetime
    community: Community
    member: Member
    event: Event
    config_changed: bool = False  # an admin changed the community's settings
    dashboard_url: str | None = None  # PAYFORWARD_PUBLIC_URL: where sign-in links point

    @property
    def cid(self) -> str:
        return self.community.community_id

    @property
    def member_id(self) -> str:
        return self.member.member_id

    async def dm(self, member_id: str, message: Message) -> None:
        await self.uow.outbox.add(self.cid, ToMember(member_id), message, self.now)

    async def post(self, channel_id: str, message: Message, purpose: str = "") -> None:
        await self.uow.outbox.add(
            self.cid, ToChannel(channel_id), message, self.now, purpose=purpose
        )

    async def update(self, ref: MessageRef, message: Message) -> None:
        await self.uow.outbox.add(self.cid, ToMessage(ref), message, self.now)

    async def refresh_card(self, ask: Ask) -> None:
        """Queue an edit of the ask's card; before the card is posted, the post itself
        re-checks the card when it is delivered (see PayForward.delivered)."""
        if ask.message is not None:
            card = await render_card(self.uow, self.community, ask)
            await queue_card_edit(self.uow, ask, ask.message, card, self.now)

    async def answer_in_place(self, message: Message) -> list[Answer]:
        """Answer a button press by replacing the message that carried the button (its
        buttons are spent), or privately when there is no such message."""
        if isinstance(self.event, ButtonPressed) and self.event.message is not None:
            await self.update(self.event.message, message)
            return []
        return [Reply(message)]

    async def known(self, info: MemberInfo) -> Member:
        """A mentioned member: stored if new; a forgotten member's name is not stored again."""
        member = await self.uow.members.get(self.cid, info.member_id)
        if member is None:
            member = Member(self.cid, info.member_id, display_name=info.display_name, tz=info.tz)
            await self.uow.members.save(member)
        elif (
            not member.forgotten and info.display_name and member.display_name != info.display_name
        ):
            member = replace(member, display_name=info.display_name)
            await self.uow.members.save(member)
        return member


async def queue_card_edit(
    uow: UnitOfWork,
    ask: Ask,
    ref: MessageRef,
    card: Message,
    now: datetime,
    priority: Priority = Priority.NOW,
) -> None:
    """Queue an edit of the ask's card at `ref`. A newer edit replaces a queued one, and
    the purpose lets a failed edit close the ask (PayForward.delivered)."""
    await uow.outbox.add(
        ask.community_id,
        ToMessage(ref),
        card,
        now,
        purpose=f"card_edit:{ask.id}",
        replace_key=f"card:{ask.id}",
        priority=priority,
    )


async def queue_quiet_dm(
    uow: UnitOfWork,
    community: Community,
    member: Member | None,
    message: Message,
    now: datetime,
    *,
    unless: OptOut,
    priority: Priority,
    purpose: str = "",
) -> None:
    """Queue a DM the bot starts on its own (a reminder is SOON, a prompt BULK): not to
    members who opted out of `unless` (nor to None, a member the community does not
    know), and held until 08:00 when it is night where they are."""
    if member is None or unless in member.opt_outs:
        return
    due = deliverable_at(now, member.tz or community.timezone)
    target = ToMember(member.member_id)
    await uow.outbox.add(
        community.community_id, target, message, due, purpose=purpose, priority=priority
    )


async def render_card(uow: UnitOfWork, community: Community, ask: Ask) -> Message:
    offers = await uow.asks.offers(ask.id, OfferStatus.ACTIVE)
    helpers: list[str] = []
    if ask.status is AskStatus.RESOLVED:
        helpers = list(dict.fromkeys(g.giver_id for g in await uow.gives.for_ask(ask.id)))
    return copy.ask_card(ask, [o.member_id for o in offers], helpers, community.offer_emoji)


NAME_LIMIT = 100  # Discord's own limit for a server's or a channel's name


def clean_name(name: str | None) -> str:
    """A name a platform gave, on one line and of a sane length ("" for none)."""
    return " ".join((name or "").split())[:NAME_LIMIT]


async def name_community(uow: UnitOfWork, community: Community, name: str | None) -> Community:
    """The community under the name its platform gives it now; written only when it
    changed (one event in many carries a new one)."""
    shown = clean_name(name)
    if not shown or shown == community.name:
        return community
    await uow.communities.rename(community.community_id, shown)
    return replace(community, name=shown)


async def touch_member(
    uow: UnitOfWork, community_id: str, info: MemberInfo, now: datetime
) -> Member:
    """The acting member, created or refreshed; writes only when something changed.
    The admin flag is kept as the platform last said it (when it said anything)."""
    member = await uow.members.get(community_id, info.member_id)
    if member is None:
        member = Member(
            community_id,
            info.member_id,
            info.display_name,
            info.tz,
            last_active_at=now,
            is_admin=bool(info.is_admin),
        )
        await uow.members.save(member)
        return member
    if member.forgotten:  # forget means gone: their name and profile stay unstored
        fresh = replace(member, last_active_at=now)
    else:
        fresh = replace(
            member,
            display_name=info.display_name or member.display_name,
            tz=info.tz or member.tz,
            last_active_at=now,
        )
    if info.is_admin is not None:
        fresh = replace(fresh, is_admin=info.is_admin)
    stale = member.last_active_at is None or now - member.last_active_at >= ACTIVITY_RESOLUTION
    if stale or replace(fresh, last_active_at=member.last_active_at) != member:
        await uow.members.save(fresh)
        return fresh
    return member
