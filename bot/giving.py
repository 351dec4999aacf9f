"""Gives: `/thanks` (confirmed at once), `/give @member` (reported, then confirmed or
declined by the receiver) and `/give <what>` (shared with everyone, never scored)."""

from __future__ import annotations

from dataclasses import replace

from bot import copy, ledger
from bot.context import Context, Refusal
from bot.domain import MAX_NOTE_LENGTH, Give, GiveSource, GiveStatus, Member, OfferStatus
from bot.events import CommandInvoked
from bot.messages import Answer, Reply
from bot.parsing import leading_mention, parse_id


async def _receiver_or_giver(ctx: Context, text: str, command: str) -> tuple[Member | None, str]:
    """The member the command names first, checked; None when it names nobody."""
    member_id, rest = leading_mention(text)
    if member_id is None:
        if text.strip().startswith("@"):
            name = text.strip().split()[0]
            raise Refusal(copy.unknown_member(name))
        return None, rest
    assert isinstance(ctx.event, CommandInvoked)
    info = ctx.event.mentions.get(member_id)
    if info is None:
        raise Refusal("I couldn't find that member in this community.")
    if info.is_bot:
        raise Refusal("Bots can't take part in gives — thank the person who helped instead.")
    if member_id == ctx.member_id:
        verb = "thank" if command == "thanks" else "log a give to"
        raise Refusal(f"You can't {verb} yourself — but thanks for being here!")
    if len(rest) > MAX_NOTE_LENGTH:
        raise Refusal(
            f"Please keep the note under {MAX_NOTE_LENGTH:,} characters. Nothing was saved."
        )
    return await ctx.known(info), rest


async def thanks(ctx: Context, text: str) -> list[Answer]:
    giver, note = await _receiver_or_giver(ctx, text, "thanks")
    if giver is None:
        return [Reply(copy.usage("thanks"))]
    ask_id = await _ask_they_helped_with(ctx, giver.member_id)
    thanked = Give(
        id=0,
        community_id=ctx.cid,
        giver_id=giver.member_id,
        receiver_id=ctx.member_id,
        source=GiveSource.THANKS,
        status=GiveStatus.PENDING,
        created_at=ctx.now,
        note=note or None,
        ask_id=ask_id,
    )
    await ctx.uow.gives.add(await ledger.confirm(ctx.uow, thanked, ctx.now))
    await ctx.dm(giver.member_id, copy.thanked(giver.member_id, ctx.member_id, note or None))
    return [Reply(copy.thanks_sent(giver.member_id))]


async def _ask_they_helped_with(ctx: Context, helper_id: str) -> int | None:
    """Link a thanks to the thanker's newest open ask the helper offered on, if any."""
    for ask in reversed(await ctx.uow.asks.open_asks(ctx.cid, asker_id=ctx.member_id, limit=50)):
        offer = await ctx.uow.asks.get_offer(ask.id, helper_id)
        if offer is not None and offer.status is OfferStatus.ACTIVE:
            return ask.id
    return None


async def give(ctx: Context, text: str) -> list[Answer]:
    receiver, what = await _receiver_or_giver(ctx, text, "give")
    if not what:
        return [Reply(copy.usage("give"))]
    if receiver is None:
        if len(what) > MAX_NOTE_LENGTH:
            raise Refusal(
                f"Please keep it under {MAX_NOTE_LENGTH:,} characters. Nothing was saved."
            )
        await record_give(ctx, None, what, GiveSource.COMMUNITY, share_ok=True)
        return [Reply(copy.shared_with_community())]
    await record_give(ctx, receiver.member_id, what, GiveSource.REPORT)
    return [Reply(copy.give_reported(receiver.member_id))]


async def record_give(
    ctx: Context, receiver_id: str | None, what: str, source: GiveSource, *, share_ok: bool = False
) -> None:
    """A give the acting member says they made: shared with everyone (no receiver) is
    final at once, never scored; to a member, it waits for them to confirm it."""
    give = Give(
        id=0,
        community_id=ctx.cid,
        giver_id=ctx.member_id,
        receiver_id=receiver_id,
        source=source,
        status=GiveStatus.PENDING,
        created_at=ctx.now,
        note=what,
        share_ok=share_ok,
    )
    if receiver_id is None:
        await ctx.uow.gives.add(await ledger.confirm(ctx.uow, give, ctx.now))
        return
    reported = await ctx.uow.gives.add(give)
    await ctx.dm(receiver_id, copy.confirm_request(reported))


async def answer_give(ctx: Context, value: str, confirmed: bool) -> list[Answer]:
    """The receiver's *Yes, this helped* / *Not really* on a reported give."""
    give_id = parse_id(value)
    found = await ctx.uow.gives.get(give_id) if give_id is not None else None
    if found is None or found.community_id != ctx.cid or found.receiver_id != ctx.member_id:
        raise Refusal("That confirmation isn't yours to answer.")
    if found.status is not GiveStatus.PENDING:
        return [Reply(copy.already_answered())]
    if confirmed:
        found = await ledger.confirm(ctx.uow, found, ctx.now)
        await ctx.dm(found.giver_id, copy.give_confirmed_to_giver(found))
    else:
        found = replace(found, status=GiveStatus.DECLINED)
    await ctx.uow.gives.save(found)
    return await ctx.answer_in_place(copy.give_answered(found, confirmed))
