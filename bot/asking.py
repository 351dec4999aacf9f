"""Asks and offers: `/ask`, offering by reaction or button, withdrawing, resolving."""

from __future__ import annotations

from dataclasses import replace

from bot import copy, emoji_names, ledger, routing
from bot.context import Context, Refusal, clean_name
from bot.domain import (
    MAX_ASK_LENGTH,
    MAX_NOTE_LENGTH,
    Ask,
    AskStatus,
    Give,
    GiveSource,
    GiveStatus,
    MessageRef,
    Offer,
    OfferStatus,
)
from bot.messages import Answer, FieldKind, Form, FormField, OpenForm, Reply
from bot.parsing import parse_id


async def post_ask(ctx: Context, text: str) -> list[Answer]:
    text = text.strip()
    if not text:
        return [Reply(copy.usage("ask"))]
    if len(text) > MAX_ASK_LENGTH:
        raise Refusal(
            f"Your ask is {len(text):,} characters; the limit is {MAX_ASK_LENGTH:,}. "
            "Nothing was posted — shorten it and try again (a link to the details works well)."
        )
    channel = ctx.event.channel_id
    if channel is None:
        raise Refusal("Please use /ask in a channel, so others can see it and offer help.")
    named = clean_name(ctx.event.channel_name)
    if named:
        await ctx.uow.communities.name_channel(ctx.cid, channel, named)
    number = await ctx.uow.communities.next_ask_number(ctx.cid)
    ask = await ctx.uow.asks.add(
        Ask(
            id=0,
            community_id=ctx.cid,
            number=number,
            asker_id=ctx.member_id,
            channel_id=channel,
            text=text,
            status=AskStatus.OPEN,
            created_at=ctx.now,
            last_activity_at=ctx.now,
        )
    )
    card = copy.ask_card(ask, [], [], ctx.community.offer_emoji)
    await ctx.post(channel, card, purpose=f"ask_card:{ask.id}")
    await routing.schedule(ctx.uow, ctx.community, ask)
    return [Reply(copy.ask_posted(ask))]


async def _ask_by_id(ctx: Context, value: str) -> Ask:
    ask_id = parse_id(value)
    ask = await ctx.uow.asks.get(ask_id) if ask_id is not None else None
    if ask is None or ask.community_id != ctx.cid:
        raise Refusal("I can't find that ask any more.")
    return ask


async def offer(ctx: Context, ask: Ask, *, pressed: bool) -> list[Answer]:
    """Record an offer; a button press gets an answer even when nothing changes."""
    if ask.asker_id == ctx.member_id:
        return [Reply(copy.own_ask(ask))] if pressed else []
    if ask.status is not AskStatus.OPEN:
        return [Reply(copy.not_open(ask))] if pressed else []
    existing = await ctx.uow.asks.get_offer(ask.id, ctx.member_id)
    if existing is not None and existing.status is OfferStatus.ACTIVE:
        return [Reply(copy.already_offered(ask))] if pressed else []
    await ctx.uow.asks.save_offer(Offer(ask.id, ctx.member_id, OfferStatus.ACTIVE, ctx.now))
    await routing.note_offer(ctx.uow, ask, ctx.member_id, ctx.now)
    ask = replace(ask, last_activity_at=ctx.now)
    await ctx.uow.asks.save(ask)
    await ctx.dm(ask.asker_id, copy.offer_to_asker(ask, ctx.member_id, ctx.community.offer_emoji))
    await ctx.refresh_card(ask)
    return [Reply(copy.offer_ack(ask))]


async def withdraw(ctx: Context, ask: Ask) -> list[Answer]:
    existing = await ctx.uow.asks.get_offer(ask.id, ctx.member_id)
    if existing is None or existing.status is not OfferStatus.ACTIVE:
        return []
    await ctx.uow.asks.save_offer(replace(existing, status=OfferStatus.WITHDRAWN))
    await ctx.refresh_card(ask)
    return []


async def on_reaction(ctx: Context, ref: MessageRef, emoji: str, added: bool) -> list[Answer]:
    """Reactions on anything but an ask card, or with another emoji, do nothing."""
    if not emoji_names.same(emoji, ctx.community.offer_emoji):
        return []
    ask = await ctx.uow.asks.by_message(ctx.cid, ref)
    if ask is None:
        return []
    if added:
        return await offer(ctx, ask, pressed=False)
    return await withdraw(ctx, ask)


async def press_offer(ctx: Context, value: str) -> list[Answer]:
    return await offer(ctx, await _ask_by_id(ctx, value), pressed=True)


async def press_resolve(ctx: Context, value: str) -> list[Answer]:
    ask = await _ask_by_id(ctx, value)
    if ask.asker_id != ctx.member_id:
        return [Reply(copy.only_asker(ask))]
    if ask.status is not AskStatus.OPEN:
        return [Reply(copy.not_open(ask))]
    offerers = tuple(o.member_id for o in await ctx.uow.asks.offers(ask.id))
    form = Form(
        form=copy.RESOLVE_FORM,
        title=f"Resolve #{ask.number}",
        submit_label="Resolve & thank",
        value=str(ask.id),
        intro="Who helped? Each person you pick gets a confirmed give.",
        fields=(
            FormField(
                "helpers", "Who helped?", FieldKind.MEMBERS, options=offerers, initial=offerers
            ),
            FormField(
                "note", "A word of thanks (optional)", FieldKind.TEXT, max_length=MAX_NOTE_LENGTH
            ),
        ),
    )
    return [OpenForm(form)]


async def submit_resolve(
    ctx: Context, value: str, helpers: tuple[str, ...], note: str
) -> list[Answer]:
    ask = await _ask_by_id(ctx, value)
    if ask.asker_id != ctx.member_id:
        return [Reply(copy.only_asker(ask))]
    if ask.status is not AskStatus.OPEN:
        return [Reply(copy.not_open(ask))]
    offerers = {o.member_id for o in await ctx.uow.asks.offers(ask.id)}
    credited: list[str] = []
    for helper in dict.fromkeys(helpers):
        if helper == ctx.member_id:
            continue
        known = await ctx.uow.members.get(ctx.cid, helper)
        if helper not in offerers and known is None:
            continue  # not someone this community knows: never invent a member
        credited.append(helper)
    thanks_note = note.strip()[:MAX_NOTE_LENGTH] or ask.text[:MAX_NOTE_LENGTH]
    for helper in credited:
        credit = Give(
            id=0,
            community_id=ctx.cid,
            giver_id=helper,
            receiver_id=ctx.member_id,
            source=GiveSource.RESOLVE,
            status=GiveStatus.PENDING,
            created_at=ctx.now,
            note=thanks_note,
            ask_id=ask.id,
        )
        await ctx.uow.gives.add(await ledger.confirm(ctx.uow, credit, ctx.now))
        await ctx.dm(helper, copy.credited(ask, note.strip()[:MAX_NOTE_LENGTH] or None))
    ask = replace(ask, status=AskStatus.RESOLVED, resolved_at=ctx.now, last_activity_at=ctx.now)
    await ctx.uow.asks.save(ask)
    await ctx.refresh_card(ask)
    return [Reply(copy.resolved_ack(ask, credited))]
