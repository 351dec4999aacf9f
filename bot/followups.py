"""Closing the loop on asks: reminders about offers, the 24 h bump and the stale close.

`run` is called by the scheduler's tick. It looks across every community, a page at a
time, and each step is a conditional update (a reminder count moves 0 → 1 only once),
so two processes running it at once still remind, bump and close each item once.
Reminders are DMs held back during the member's quiet hours; the ones still waiting
when their ask is resolved or closed are dropped (PayForward.still_wanted).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot import asking, copy, cups, routing
from bot.context import Context, Refusal, queue_card_edit, queue_quiet_dm, render_card
from bot.domain import Ask, AskStatus, Community, OptOut
from bot.messages import Answer, Message, Priority, ToChannel
from bot.parsing import parse_id
from bot.ports import FollowUpMarks, UnitOfWork, UnitOfWorkFactory

FIRST_REMINDER = timedelta(hours=48)
SECOND_REMINDER = timedelta(days=5)
LAPSE = timedelta(days=7)  # after the second reminder, the offer lapses quietly
BUMP_AFTER = timedelta(hours=24)
BUMP_WINDOW = timedelta(hours=24)  # a bump missed by longer downtime is skipped
STALE_AFTER = timedelta(days=14)
REMINDER_AGES = (FIRST_REMINDER, SECOND_REMINDER, LAPSE)  # by reminders sent so far
PAGE = 100

REMINDER = "remind"  # outbox purpose "remind:<ask id>"
ACTIONS = (copy.STILL_NEED_HELP, copy.CONNECTED, copy.CANT_HELP)


@dataclass
class FollowUps:
    """What one run did."""

    reminded: int = 0  # offers reminded about
    lapsed: int = 0
    bumped: int = 0
    closed: int = 0
    routed: int = 0  # asks whose routing fell due (bot/routing.py)
    cups: int = 0  # cups followed up a week after their round (bot/cups.py)


Step = Callable[[UnitOfWork], Awaitable[tuple[int, int]]]
"""One page of one rule, in one transaction: (items found, items acted on)."""


async def run(uow_factory: UnitOfWorkFactory, now: datetime) -> FollowUps:
    done = FollowUps()
    done.routed = await _pages(uow_factory, lambda uow: routing.route_due(uow, now))
    done.reminded = await _pages(uow_factory, lambda uow: _remind(uow, 0, now))
    done.reminded += await _pages(uow_factory, lambda uow: _remind(uow, 1, now))
    done.lapsed = await _pages(uow_factory, lambda uow: _lapse(uow, now))
    done.bumped = await _pages(uow_factory, lambda uow: _bump(uow, now))
    done.closed = await _pages(uow_factory, lambda uow: _close_stale(uow, now))
    done.cups = await _pages(uow_factory, lambda uow: cups.follow_up(uow, now))
    return done


async def _pages(uow_factory: UnitOfWorkFactory, step: Step) -> int:
    """Run `step` a transaction at a time until it finds a short page."""
    total = 0
    while True:
        async with uow_factory() as uow:
            found, acted = await step(uow)
            await uow.commit()
        total += acted
        if found < PAGE or acted == 0:
            return total


class _Communities:
    """Communities met during one page, read once each."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._seen: dict[str, Community] = {}

    async def of(self, ask: Ask) -> Community:
        if ask.community_id not in self._seen:
            self._seen[ask.community_id] = await self._uow.communities.get(
                ask.community_id
            ) or Community(ask.community_id)
        return self._seen[ask.community_id]


async def _remind(uow: UnitOfWork, sent: int, now: datetime) -> tuple[int, int]:
    due = await uow.asks.offers_due(sent, now - REMINDER_AGES[sent], PAGE)
    communities = _Communities(uow)
    helpers_of: dict[int, tuple[Ask, list[str]]] = {}
    last = sent == 1

    async def remind(ask: Ask, member_id: str, message: Message) -> None:
        community = await communities.of(ask)
        purpose = f"{REMINDER}:{ask.id}"
        member = await uow.members.get(community.community_id, member_id)
        await queue_quiet_dm(
            uow,
            community,
            member,
            message,
            now,
            unless=OptOut.REMINDERS,
            priority=Priority.SOON,
            purpose=purpose,
        )

    for ask, offer in due:
        if not await uow.asks.advance_offer(ask.id, offer.member_id, sent):
            continue
        if offer.member_id not in await _thanked(uow, ask):  # else "did you connect?" is moot
            await remind(ask, offer.member_id, copy.reminder_to_helper(ask, last))
        helpers_of.setdefault(ask.id, (ask, []))[1].append(offer.member_id)
    for ask, helpers in helpers_of.values():
        await remind(ask, ask.asker_id, copy.reminder_to_asker(ask, helpers, last))
    return len(due), sum(len(h) for _, h in helpers_of.values())


async def _thanked(uow: UnitOfWork, ask: Ask) -> set[str]:
    """Who the asker has already thanked for this ask."""
    return {g.giver_id for g in await uow.gives.for_ask(ask.id) if g.receiver_id == ask.asker_id}


async def _lapse(uow: UnitOfWork, now: datetime) -> tuple[int, int]:
    due = await uow.asks.offers_due(2, now - LAPSE, PAGE)
    communities = _Communities(uow)
    lapsed: dict[int, Ask] = {}
    for ask, offer in due:
        if await uow.asks.lapse_offer(ask.id, offer.member_id, 2):
            lapsed[ask.id] = ask
    for ask in lapsed.values():
        await _refresh_card(uow, await communities.of(ask), ask, now)
    return len(due), len(lapsed)


async def _bump(uow: UnitOfWork, now: datetime) -> tuple[int, int]:
    cutoff = now - BUMP_AFTER
    due = await uow.asks.asks_to_bump(cutoff, cutoff - BUMP_WINDOW, PAGE)
    bumped = 0
    for ask in due:
        if await uow.asks.mark_bumped(ask.id, now):
            bump = copy.bump(ask)
            channel = ToChannel(ask.channel_id)
            await uow.outbox.add(ask.community_id, channel, bump, now, priority=Priority.SOON)
            await routing.route_on_bump(uow, ask, now)
            bumped += 1
    return len(due), bumped


async def _close_stale(uow: UnitOfWork, now: datetime) -> tuple[int, int]:
    cutoff = now - STALE_AFTER
    due = await uow.asks.stale_asks(cutoff, PAGE)
    communities = _Communities(uow)
    closed = 0
    for ask in due:
        if not await uow.asks.close_stale(ask.id, cutoff):
            continue
        community = await communities.of(ask)
        ask = replace(ask, status=AskStatus.CLOSED)
        await _refresh_card(uow, community, ask, now)
        asker = await uow.members.get(community.community_id, ask.asker_id)
        await queue_quiet_dm(
            uow,
            community,
            asker,
            copy.closed_stale(ask),
            now,
            unless=OptOut.REMINDERS,
            priority=Priority.SOON,
        )
        closed += 1
    return len(due), closed


async def _refresh_card(uow: UnitOfWork, community: Community, ask: Ask, now: datetime) -> None:
    if ask.message is not None:
        card = await render_card(uow, community, ask)
        await queue_card_edit(uow, ask, ask.message, card, now, Priority.SOON)


def next_due(marks: FollowUpMarks, after: datetime) -> datetime | None:
    """The first instant after `after` at which a follow-up falls due, if any."""
    moments = [mark + age for mark, age in zip(marks.offers, REMINDER_AGES, strict=False) if mark]
    if marks.unbumped is not None:
        moments.append(marks.unbumped + BUMP_AFTER)
    if marks.inactive is not None:
        moments.append(marks.inactive + STALE_AFTER)
    later = [moment for moment in moments if moment > after]
    return min(later, default=None)


# The answers to reminder DMs.


async def answer(ctx: Context, action: str, value: str) -> list[Answer]:
    ask_id = parse_id(value)
    ask = await ctx.uow.asks.get(ask_id) if ask_id is not None else None
    if ask is None or ask.community_id != ctx.cid:
        raise Refusal("I can't find that ask any more.")
    if action == copy.STILL_NEED_HELP:
        if ask.asker_id != ctx.member_id:
            raise Refusal("Only the person who asked can answer that.")
        if ask.status is not AskStatus.OPEN:
            return await ctx.answer_in_place(copy.not_open(ask))
        await ctx.uow.asks.save(replace(ask, last_activity_at=ctx.now))
        return await ctx.answer_in_place(copy.still_open(ask))
    offer = await ctx.uow.asks.get_offer(ask.id, ctx.member_id)
    if offer is None:
        raise Refusal(f"You haven't offered to help with #{ask.number}.")
    if action == copy.CONNECTED:
        return await ctx.answer_in_place(copy.connected(ask))
    await asking.withdraw(ctx, ask)
    return await ctx.answer_in_place(copy.offer_dropped(ask))
