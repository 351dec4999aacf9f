"""Cups: opt-in conversations between two (or three) members, paired on topics.

Members opt in with `/payforward optin cups`; admins set the rhythm with `config cups
every 2w mon 10:00` (bot/rounds.py). A round (bot/jobs.py, under a `job_runs` claim
for the community and the round's week) runs in steps, each one transaction:
1. pair: one bulk read of the eligible members (opted in, active in the last
   ACTIVE_WINDOW), the matcher (bot/pairing.py, seeded by community and round), and
   the cups stored, numbered 1, 2, …;
2. introduce, a page of cups at a time (the claim's cursor is the last cup number
   introduced): on a platform that holds group DMs (Slack) one message to the group,
   held until no member is in quiet hours; elsewhere (Discord, the console) a DM to
   each member that names the other(s), each held for its member's quiet hours.
   Both are `bulk` messages.

Each member answers for themselves (*We met* / *Can't make it*, also on a group's
shared intro). FOLLOW_UP_AFTER the round, the follow-ups tick (bot/followups.py)
sends one reminder to each member who has not answered, claimed once per cup. A cup
with a *We met* is a conversation: the weekly post counts them, never names them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot import pairing
from bot.calendar import deliverable_at
from bot.context import Context, Refusal
from bot.copy import lines, people, say, snippet
from bot.domain import Community
from bot.erasure import Redact
from bot.messages import (
    Answer,
    Block,
    Button,
    ButtonStyle,
    Mention,
    Message,
    Priority,
    Reply,
    Span,
    Style,
    ToGroup,
    ToMember,
    holds_group_dms,
    text,
)
from bot.pairing import Reason
from bot.ports import Cup, CupSeat, OutboxItem, UnitOfWork
from bot.rounds import describe, describe_next
from bot.weeks import zone

MET, CANT = "met", "cant"  # a member's answer
MET_BUTTON, CANT_BUTTON = "cup_met", "cup_cant"
ACTIONS = (MET_BUTTON, CANT_BUTTON)
INTRO, NUDGE = "cup", "cup_nudge"  # outbox purposes "cup:<round>.<number>"
SHARED = "g"  # a button on a group's shared intro: answered privately, the intro stays
ACTIVE_WINDOW = timedelta(days=30)
FOLLOW_UP_AFTER = timedelta(days=7)
PAGE = 200  # cups introduced per transaction
FOLLOW_UP_PAGE = 100  # as followups.PAGE: its pages stop at a short one
SHOWN = 5  # cups listed in `/payforward me`
OPT_OUT_HINT = "Cups are opt-in: `/payforward optout cups` stops them."


@dataclass(frozen=True)
class CupKey:
    round: str
    number: int
    shared: bool = False

    def value(self) -> str:
        """A button value: `2026-12-07.3` (`.g` added on a group's shared intro)."""
        return f"{self.round}.{self.number}" + (f".{SHARED}" if self.shared else "")


def key_of(cup: Cup, shared: bool = False) -> CupKey:
    return CupKey(cup.round, cup.number, shared)


def parse_key(value: str) -> CupKey | None:
    parts = value.split(".")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != SHARED):
        return None
    round_, number = parts[0], parts[1]
    if len(round_) != 10 or not number.isascii() or not number.isdigit() or len(number) > 6:
        return None
    return CupKey(round_, int(number), len(parts) == 3)


# Opting in and out.


async def set_opted_in(ctx: Context, *, opted_in: bool) -> list[Answer]:
    await ctx.uow.cups.set_opted_in(ctx.cid, ctx.member_id, opted_in, ctx.now)
    if not opted_in:
        return [
            Reply(
                say(
                    "Done — no more coffee pairings for you. Your past conversations stay in "
                    "`/payforward me` (until you `/payforward forget`); "
                    "`/payforward optin cups` brings you back."
                )
            )
        ]
    rhythm = ctx.community.cups
    if rhythm is None:
        when = (
            "Cups are off in this community until an admin turns them on "
            "(`config cups every 2w mon 10:00`); you're on the list for the first round."
        )
    else:
        first = describe_next(rhythm, ctx.community.timezone, ctx.now)
        when = f"Rounds run {describe(rhythm)}; the next is {first}."
    return [
        Reply(
            say(
                "You're in for cups ☕: each round I pair you with another member for a "
                "coffee or a call — when I can, someone who helped with what you asked "
                f"about, or who asked about what you know. {when} "
                "`/payforward optout cups` leaves."
            )
        )
    ]


# A round.


async def round_step(
    uow: UnitOfWork, community: Community, round_: str, now: datetime, cursor: str | None
) -> str | None:
    """One step of a round: pair (no cursor yet), then introduce a page of cups. The
    cursor to continue from, or None when the round is done."""
    if cursor is None:
        made = await pair_round(uow, community, round_, now)
        return "0" if made else None
    return await introduce_page(uow, community, round_, now, int(cursor))


async def pair_round(uow: UnitOfWork, community: Community, round_: str, now: datetime) -> int:
    """Pair the round's members and store their cups; how many cups."""
    cid = community.community_id
    profiles = await uow.cups.profiles(
        cid,
        active_since=now - ACTIVE_WINDOW,
        asks_since=now - pairing.WINDOW,
        asks_per_member=pairing.ASKED,
        helps_per_member=pairing.HELPS,
    )
    earlier = await uow.cups.recent_groups(cid, round_, pairing.REPEAT_ROUNDS)
    rng = random.Random(f"{cid}/{round_}")
    topics = pairing.Topics(profiles, now)
    groups = pairing.pair(profiles.first_seen, topics.edges, pairing.recent_pairs(earlier), rng)
    cups = [
        _cup(cid, round_, n, now, group.members, topics.reason(group.edge) if group.edge else None)
        for n, group in enumerate(groups, start=1)
    ]
    if cups:
        await uow.cups.add_round(cups)
    return len(cups)


def _cup(
    cid: str,
    round_: str,
    number: int,
    now: datetime,
    members: tuple[str, ...],
    reason: Reason | None,
) -> Cup:
    return Cup(
        community_id=cid,
        round=round_,
        number=number,
        created_at=now,
        seats=tuple(CupSeat(m) for m in sorted(members)),  # as stored
        reason=None if reason is None else why(reason),
        upside_down=reason is not None and reason.upside_down,
    )


async def introduce_page(
    uow: UnitOfWork, community: Community, round_: str, now: datetime, after: int
) -> str | None:
    cid = community.community_id
    page = await uow.cups.round_page(cid, round_, after, PAGE)
    together = holds_group_dms(community.platform)
    for cup in page:
        members = [await uow.members.get(cid, m) for m in cup.members]
        due = {
            m.member_id: deliverable_at(now, m.tz or community.timezone)
            for m in members
            if m is not None and not m.forgotten
        }
        if len(due) != len(cup.members):
            continue  # someone forgot themselves since the pairing: no intro naming them
        purpose = f"{INTRO}:{key_of(cup).value()}"
        if together:
            target = ToGroup.of(cup.members)
            intro = introduction(cup, None)
            await uow.outbox.add(
                cid, target, intro, max(due.values()), purpose=purpose, priority=Priority.BULK
            )
            continue
        for member_id in cup.members:
            await uow.outbox.add(
                cid,
                ToMember(member_id),
                introduction(cup, member_id),
                due[member_id],
                purpose=purpose,
                priority=Priority.BULK,
            )
    return str(page[-1].number) if len(page) == PAGE else None


# Answers and the follow-up.


async def answer(ctx: Context, action: str, value: str) -> list[Answer]:
    """*We met* / *Can't make it*: the member's own answer, on their own DM (which it
    replaces) or on a group's shared intro (answered privately: the others still
    need its buttons)."""
    key = parse_key(value)
    cup = await ctx.uow.cups.get(ctx.cid, key.round, key.number) if key else None
    if key is None or cup is None:
        raise Refusal("I can't find that coffee pairing any more.")
    said = MET if action == MET_BUTTON else CANT
    if not await ctx.uow.cups.answer(ctx.cid, key.round, key.number, ctx.member_id, said, ctx.now):
        raise Refusal("That coffee pairing isn't yours, so there is nothing to answer.")
    others = [m for m in cup.members if m != ctx.member_id]
    if said == MET:
        thanks = say(
            "☕ Glad you met ",
            *people(others),
            "! Thanks for telling me — conversations like this are what the community is for.",
        )
    else:
        thanks = say(
            "No problem — thanks for letting me know. You're in for the next round "
            "(`/payforward optout cups` if you'd rather not)."
        )
    if key.shared:
        return [Reply(thanks)]
    return await ctx.answer_in_place(thanks)


async def follow_up(uow: UnitOfWork, now: datetime) -> tuple[int, int]:
    """One page of cups whose week has passed: one reminder each to the members who
    have not answered. (found, followed up)."""
    due = await uow.cups.follow_ups_due(now - FOLLOW_UP_AFTER, FOLLOW_UP_PAGE)
    communities: dict[str, Community | None] = {}
    acted = 0
    for cup in due:
        if not await uow.cups.mark_followed_up(cup.community_id, cup.round, cup.number, now):
            continue
        acted += 1
        cid = cup.community_id
        if cid not in communities:
            communities[cid] = await uow.communities.get(cid)
        community = communities[cid]
        if community is None:
            continue
        for seat in cup.seats:
            if seat.answer is not None or not await uow.cups.opted_in(cid, seat.member_id):
                continue
            member = await uow.members.get(cid, seat.member_id)
            if member is None or member.forgotten:
                continue
            await uow.outbox.add(
                cid,
                ToMember(seat.member_id),
                reminder(cup, seat.member_id),
                deliverable_at(now, member.tz or community.timezone),
                purpose=f"{NUDGE}:{key_of(cup).value()}",
                priority=Priority.BULK,
            )
    return len(due), acted


def next_follow_up(oldest: datetime | None, after: datetime) -> datetime | None:
    """When the next follow-up falls due, from the oldest cup not followed up."""
    if oldest is None:
        return None
    due = oldest + FOLLOW_UP_AFTER
    return due if due > after else None


async def still_wanted(uow: UnitOfWork, item: OutboxItem) -> bool:
    """An intro or a reminder held for the morning goes out only if its cup still holds
    every member it is for (none forgot themselves), each still opted in; a reminder,
    only if its member still has not answered."""
    kind, _, value = item.purpose.partition(":")
    key = parse_key(value)
    cup = await uow.cups.get(item.community_id, key.round, key.number) if key else None
    if cup is None or len(cup.seats) < 2:
        return False
    target = item.target
    if isinstance(target, ToGroup):
        recipients: tuple[str, ...] = target.member_ids
    elif isinstance(target, ToMember):
        recipients = (target.member_id,)
    else:
        return True
    seats = {seat.member_id: seat for seat in cup.seats}
    for member_id in recipients:
        seat = seats.get(member_id)
        if seat is None or not await uow.cups.opted_in(item.community_id, member_id):
            return False
        if kind == NUDGE and seat.answer is not None:
            return False
    return True


# What the cups say.


def why(reason: Reason) -> Message:
    """The reason as stored with the cup: third person, one block."""
    spans: list[Span] = [Mention(reason.asker_id), " asked about “", snippet(reason.ask.text, 80)]
    spans.append("”, and ")
    spans.append(Mention(reason.helper_id))
    helped = reason.helped
    if helped is not None:
        did = " helped" if helped.gave else " offered to help"
        if helped.ask.ask_id == reason.ask.ask_id:
            spans.append(f"{did} with it")
        else:
            spans += [f"{did} ", Mention(helped.ask.asker_id), " with “"]
            spans += [snippet(helped.ask.text, 80), "”"]
    elif reason.topic is not None:
        spans += [" listed *", snippet(reason.topic, 40), "* as a topic to help with"]
    blocks = [text(*spans, ".")]
    if reason.upside_down:
        blocks.append(
            text(
                "Upside-down mentoring: ",
                Mention(reason.helper_id),
                " joined the community after ",
                Mention(reason.asker_id),
                " — newer members often know just the thing.",
            )
        )
    return lines(*blocks)


def _as_seen_by(spans: tuple[Span, ...], viewer: str | None) -> tuple[Span, ...]:
    """A viewer reads themselves as "you"."""
    if viewer is None:
        return spans
    return tuple("you" if s == Mention(viewer) else s for s in spans)


def introduction(cup: Cup, viewer: str | None) -> Message:
    """The intro: to the group (viewer None), or to one member, naming the others."""
    others = [m for m in cup.members if m != viewer]
    if viewer is None:
        heading = text("☕ Time for a cup: ", *people(list(cup.members)), ", meet each other!")
    else:
        heading = text("☕ Time for a cup: meet ", *people(others), "!")
    blocks: list[Block] = [Block(Style.HEADING, heading.spans)]
    if cup.reason is not None:
        first, *more = cup.reason.blocks
        blocks.append(text("Why: ", *_as_seen_by(first.spans, viewer)))
        blocks.extend(text(*_as_seen_by(b.spans, viewer)) for b in more)
    else:
        blocks.append(
            text(
                "Nothing in common that I know of yet — a good chance to meet someone new "
                "in the community."
            )
        )
    blocks.append(text("Find half an hour for a coffee or a call, then tell me how it went."))
    blocks.append(text(OPT_OUT_HINT, style=Style.CONTEXT))
    return lines(*blocks, buttons=_buttons(key_of(cup, shared=viewer is None)))


def reminder(cup: Cup, member_id: str) -> Message:
    others = [m for m in cup.members if m != member_id]
    return lines(
        text("☕ A week ago I paired you with ", *people(others), ". Did you meet?"),
        text(OPT_OUT_HINT, style=Style.CONTEXT),
        buttons=_buttons(key_of(cup)),
    )


def _buttons(key: CupKey) -> tuple[Button, ...]:
    return (
        Button(MET_BUTTON, "We met", key.value(), ButtonStyle.PRIMARY),
        Button(CANT_BUTTON, "Can't make it", key.value()),
    )


# What `me`, `export` and `forget` add.


def _seat(cup: Cup, member_id: str) -> CupSeat | None:
    return next((s for s in cup.seats if s.member_id == member_id), None)


_ANSWERS = {MET: "you met", CANT: "you couldn't make it", None: "no answer yet"}


async def summary(uow: UnitOfWork, community: Community, member_id: str) -> list[Block]:
    """`/payforward me`: in or out, how many conversations, and the latest cups."""
    cid = community.community_id
    opted = await uow.cups.opted_in(cid, member_id)
    mine = await uow.cups.of_member(cid, member_id)
    met = sum(1 for cup in mine if cup.met_at is not None)
    state = "on" if opted else "off — `/payforward optin cups`"
    count = f"{met} conversation{'' if met == 1 else 's'}"
    blocks = [text(f"Cups: {state} · {count}", style=Style.ITEM)]
    for cup in mine[-SHOWN:][::-1]:
        seat = _seat(cup, member_id)
        others = [m for m in cup.members if m != member_id]
        said = _ANSWERS.get(seat.answer if seat else None, "no answer yet")
        day = cup.created_at.astimezone(zone(community.timezone))
        blocks.append(
            text(
                f"☕ {day:%a} {day.day} {day:%b}: with ",
                *people(others),
                f" — {said}",
                style=Style.ITEM,
            )
        )
    return blocks


async def exported(uow: UnitOfWork, community_id: str, member_id: str) -> dict[str, Any]:
    def stamp(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    cups = []
    for cup in await uow.cups.of_member(community_id, member_id):
        seat = _seat(cup, member_id)
        cups.append(
            {
                "round": cup.round,
                "paired_at": stamp(cup.created_at),
                "with": [m for m in cup.members if m != member_id],
                "why": cup.reason.plain() if cup.reason else None,
                "upside_down": cup.upside_down,
                "your_answer": seat.answer if seat else None,
                "answered_at": stamp(seat.answered_at) if seat else None,
                "met_at": stamp(cup.met_at),
            }
        )
    return {"cups_opted_in": await uow.cups.opted_in(community_id, member_id), "cups": cups}


async def forget(uow: UnitOfWork, community_id: str, member_id: str, redact: Redact) -> None:
    await uow.cups.forget(community_id, member_id, redact)
