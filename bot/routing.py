"""Routing: an ask nobody offered on is sent by DM to the members most likely to help.

When an ask is posted in a community whose connector is on, it is scheduled for its
`connector_after` (`config connector 30m`). The follow-ups tick (`route_due`, run by
bot/followups.py) claims each due ask once — a conditional update, so several
processes route it once — and, if it is still open with no offer, DMs up to ROUTED
members that bot/connector.py picks: never the asker, anyone who offered or was asked
about it before (so a *Not this time* is final), anyone not opted in; at most
ROUTES_PER_WEEK routed DMs per member per week. The DMs wait out the member's quiet
hours and are dropped when delivered if the ask got an offer meanwhile
(`still_wanted`). The 24 h bump routes to the next best (`route_on_bump`). A routed
member who offers, by the DM's button, the card's or a reaction, makes a connection
(`note_offer`).
"""

from __future__ import annotations

from datetime import datetime

from bot import connector
from bot.calendar import deliverable_at
from bot.context import Context, Refusal
from bot.copy import OFFER, say, snippet
from bot.domain import Ask, AskStatus, Community, OfferStatus
from bot.messages import (
    Answer,
    Block,
    Button,
    ButtonStyle,
    ChannelMention,
    Mention,
    Message,
    Priority,
    Span,
    Style,
    ToMember,
    render_spans,
    text,
)
from bot.ports import OutboxItem, Route, UnitOfWork

ROUTE = "route"  # outbox purpose "route:<ask id>"
ROUTED = 3  # members asked per round
FIRST, BUMP = 1, 2  # rounds: after the connector's delay, and with the 24 h bump
PAGE = 100
DECLINE = "not_this_time"
ACTIONS = (DECLINE,)


async def schedule(uow: UnitOfWork, community: Community, ask: Ask) -> None:
    """A new ask: route it after the community's delay, unless the connector is off."""
    if community.connector_after is not None:
        due = ask.created_at + community.connector_after
        await uow.connector.schedule(community.community_id, ask.id, due)


async def route_due(uow: UnitOfWork, now: datetime) -> tuple[int, int]:
    """One page of asks whose routing fell due: (found, claimed)."""
    due = await uow.connector.due(now, PAGE)
    seen: dict[str, Community | None] = {}
    claimed = 0
    for ask in due:
        if not await uow.connector.claim(ask.id, now):
            continue
        claimed += 1
        if ask.community_id not in seen:
            seen[ask.community_id] = await uow.communities.get(ask.community_id)
        community = seen[ask.community_id]
        if community is not None and community.connector_after is not None:
            await route(uow, community, ask, now, FIRST)
    return len(due), claimed


async def route_on_bump(uow: UnitOfWork, ask: Ask, now: datetime) -> int:
    """The 24 h bump: the next best members, none of whom was asked yet."""
    community = await uow.communities.get(ask.community_id)
    if community is None or community.connector_after is None:
        return 0
    return await route(uow, community, ask, now, BUMP)


async def route(uow: UnitOfWork, community: Community, ask: Ask, now: datetime, round_: int) -> int:
    """DM the ask to up to ROUTED members who were not asked about it yet; how many."""
    if ask.status is not AskStatus.OPEN or await uow.asks.offers(ask.id, OfferStatus.ACTIVE):
        return 0
    offered = {
        offer.member_id
        for status in (OfferStatus.WITHDRAWN, OfferStatus.LAPSED)
        for offer in await uow.asks.offers(ask.id, status)
    }
    asked = {r.member_id for r in await uow.connector.routes_for(ask.id)}
    cid = community.community_id
    exclude = {ask.asker_id} | offered | asked
    routed = 0
    for pick in await connector.pick(uow, cid, ask.text, now=now, count=ROUTED, exclude=exclude):
        member = await uow.members.get(cid, pick.member_id)
        if member is None or member.forgotten:
            continue
        because = connector.reason(pick, you=True)
        await uow.connector.add_route(
            Route(ask.id, pick.member_id, cid, now, round_, render_spans(because))
        )
        await uow.outbox.add(
            cid,
            ToMember(pick.member_id),
            routed_dm(ask, because),
            deliverable_at(now, member.tz or community.timezone),
            purpose=f"{ROUTE}:{ask.id}",
            priority=Priority.SOON,
        )
        routed += 1
    return routed


async def still_wanted(uow: UnitOfWork, item: OutboxItem) -> bool:
    """A routed DM held for the morning goes out only if the ask is still open with no
    offer, and its member still opted in."""
    ask = await uow.asks.get(int(item.purpose.partition(":")[2]))
    if ask is None or ask.status is not AskStatus.OPEN:
        return False
    if await uow.asks.offers(ask.id, OfferStatus.ACTIVE):
        return False
    member_id = item.target.member_id if isinstance(item.target, ToMember) else None
    return member_id is not None and bool(await uow.connector.opted_in(ask.community_id, member_id))


async def note_offer(uow: UnitOfWork, ask: Ask, member_id: str, now: datetime) -> None:
    """An offer on an ask: a connection, if the connector had routed it to them."""
    await uow.connector.mark_offered(ask.id, member_id, now)


async def answer(ctx: Context, action: str, value: str) -> list[Answer]:
    """*Not this time*: the member is never asked about this ask again."""
    ask = await ctx.uow.asks.get(int(value)) if value.isdigit() else None
    if ask is None or ask.community_id != ctx.cid:
        raise Refusal("I can't find that ask any more.")
    if not await ctx.uow.connector.decline(ask.id, ctx.member_id, ctx.now):
        raise Refusal(f"#{ask.number} wasn't sent to you, so there is nothing to decline.")
    return await ctx.answer_in_place(declined(ask))


# What the connector says.


def routed_dm(ask: Ask, because: tuple[Span, ...]) -> Message:
    return Message(
        blocks=(
            text(
                f"🔎 #{ask.number} · ",
                Mention(ask.asker_id),
                " asked in ",
                ChannelMention(ask.channel_id),
                " and nobody has offered yet:",
                style=Style.HEADING,
            ),
            Block(Style.QUOTE, (snippet(ask.text, 300),)),
            text("I thought of you: ", *because, "."),
            text("Only if you have a moment — “Not this time” is fine.", style=Style.CONTEXT),
        ),
        buttons=(
            Button(OFFER, "I can help", str(ask.id), ButtonStyle.PRIMARY),
            Button(DECLINE, "Not this time", str(ask.id)),
        ),
        ask_number=ask.number,
    )


def declined(ask: Ask) -> Message:
    return say(
        f"No problem — I won't ask you about #{ask.number} again. Thanks for being open to it!",
        ask=ask.number,
    )
