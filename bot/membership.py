"""`/payforward` for every member: me, leaderboard, optout/optin, export, forget, help."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot import copy, cups, interests
from bot.context import Context, Refusal
from bot.domain import AskStatus, GiveStatus, OptOut
from bot.erasure import ERASED, redactor
from bot.messages import Answer, Reply, Style, text
from bot.report import ask_line, private_board, scores, weekly_report
from bot.scoring import weekly_table
from bot.weeks import is_timezone, week_of

OPT_CHOICES = {o.value: (o,) for o in OptOut} | {"all": tuple(OptOut)}


async def leaderboard(ctx: Context) -> list[Answer]:
    start, end = week_of(ctx.now, ctx.community.timezone)
    report = await weekly_report(ctx.uow, ctx.community, start, end, public=False)
    return [Reply(private_board(report, ctx.member_id))]


SHOWN_ASKS = 5
TIMEZONE_USAGE = "`/payforward timezone Europe/Berlin`"


async def me(ctx: Context) -> list[Answer]:
    start, end = week_of(ctx.now, ctx.community.timezone)
    report = await weekly_report(ctx.uow, ctx.community, start, end, public=False)
    mine = next((s for s in report.table if s.member_id == ctx.member_id), None)
    gives = await ctx.uow.gives.involving(ctx.cid, ctx.member_id)
    given = [g for g in gives if g.giver_id == ctx.member_id and g.status is GiveStatus.CONFIRMED]
    to_people = [g for g in given if g.receiver_id not in (None, ctx.member_id)]
    received = [
        g for g in gives if g.receiver_id == ctx.member_id and g.status is GiveStatus.CONFIRMED
    ]
    pending = [
        g for g in gives if g.receiver_id == ctx.member_id and g.status is GiveStatus.PENDING
    ]
    open_asks = await ctx.uow.asks.open_asks(ctx.cid, asker_id=ctx.member_id, limit=100)
    week = f"This week: #{mine.rank} — {scores(mine)}" if mine else "This week: no help yet"
    if OptOut.LEADERBOARD in ctx.member.opt_outs:
        week = await _week_off_the_board(ctx, start, end)
    opt_outs = ", ".join(sorted(o.value for o in ctx.member.opt_outs)) or "none"
    blocks = [
        text("Your pay-it-forward", style=Style.HEADING),
        text(week, style=Style.ITEM),
        text(
            f"All time: {_count(len(to_people), 'give')} to "
            f"{_count(len({g.receiver_id for g in to_people}), 'person', 'people')}, "
            f"{_count(len(given) - len(to_people), 'thing')} shared with everyone",
            style=Style.ITEM,
        ),
        text(f"Help you received: {_times(len(received))}", style=Style.ITEM),
        text(f"Your open asks: {len(open_asks)}", style=Style.ITEM),
        text(f"Waiting for your confirmation: {len(pending)}", style=Style.ITEM),
    ]
    if open_asks:  # the newest few, so App Home and `/payforward me` show what is waiting
        blocks.append(text("Your open asks", style=Style.HEADING))
        blocks.extend(ask_line(ask) for ask in open_asks[-SHOWN_ASKS:][::-1])
    blocks.append(await interests.summary(ctx.uow, ctx.cid, ctx.member_id))
    blocks.extend(await cups.summary(ctx.uow, ctx.community, ctx.member_id))
    blocks.append(text(f"Opted out of: {opt_outs}", style=Style.CONTEXT))
    return [Reply(copy.lines(*blocks))]


async def set_opt_out(ctx: Context, words: list[str], out: bool) -> list[Answer]:
    choice = OPT_CHOICES.get(words[0].lower()) if len(words) == 1 else None
    if choice is None:
        return [Reply(copy.usage("optout" if out else "optin"))]
    current = set(ctx.member.opt_outs)
    current = current | set(choice) if out else current - set(choice)
    await ctx.uow.members.save(replace(ctx.member, opt_outs=frozenset(current)))
    return [Reply(copy.opt_changed([o.value for o in choice], out))]


async def _week_off_the_board(ctx: Context, start: datetime, end: datetime) -> str:
    """A member who left the board still sees their own week, without a rank."""
    pairs = await ctx.uow.gives.pair_weeks(ctx.cid, start, end)
    mine = next((s for s in weekly_table(pairs, set()) if s.member_id == ctx.member_id), None)
    hidden = "(you are off the board: `/payforward optin leaderboard` shows you)"
    return f"This week: {scores(mine) if mine else 'no help yet'} {hidden}"


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _stamp(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def export(ctx: Context) -> list[Answer]:
    """Everything stored about the member, as JSON, by DM (it can be long)."""
    content = await export_document(ctx)
    await ctx.dm(ctx.member_id, copy.export_message(EXPORT_FILENAME, content))
    return [Reply(copy.export_ready())]


EXPORT_FILENAME = "payforward-export.json"


async def export_document(ctx: Context) -> str:
    """The JSON `/payforward export` sends, and the dashboard's download."""
    m = ctx.member
    asks = await ctx.uow.asks.by_asker(ctx.cid, m.member_id)
    offers = await ctx.uow.asks.offers_by(ctx.cid, m.member_id)
    gives = await ctx.uow.gives.involving(ctx.cid, m.member_id)
    data: dict[str, Any] = {
        "community": ctx.cid,
        "member": {
            "id": m.member_id,
            "display_name": m.display_name,
            "timezone": m.tz,
            "opted_out_of": sorted(o.value for o in m.opt_outs),
            "last_active_at": _stamp(m.last_active_at),
        },
        "asks": [
            {
                "number": a.number,
                "text": a.text,
                "status": a.status.value,
                "channel": a.channel_id,
                "created_at": _stamp(a.created_at),
                "resolved_at": _stamp(a.resolved_at),
            }
            for a in asks
        ],
        "offers": [
            {"ask_id": o.ask_id, "status": o.status.value, "created_at": _stamp(o.created_at)}
            for o in offers
        ],
        "gives": [
            {
                "giver": g.giver_id,
                "receiver": g.receiver_id,
                "source": g.source.value,
                "status": g.status.value,
                "note": g.note,
                "ask_id": g.ask_id,
                "created_at": _stamp(g.created_at),
                "confirmed_at": _stamp(g.confirmed_at),
            }
            for g in gives
        ],
        **await interests.exported(ctx.uow, ctx.cid, m.member_id),
        **await cups.exported(ctx.uow, ctx.cid, m.member_id),
        "exported_at": ctx.now.isoformat(),
    }
    return json.dumps(data, indent=2, ensure_ascii=False)


async def set_timezone(ctx: Context, words: list[str]) -> list[Answer]:
    """`/payforward timezone [Europe/Berlin]`: the member's own timezone, which keeps
    reminders and prompts out of their night. Slack fills it from the profile."""
    if not words:
        own = ctx.member.tz
        where = own or f"{ctx.community.timezone} (the community's)"
        return [Reply(copy.say(f"Your timezone: {where}. Change it with {TIMEZONE_USAGE}."))]
    name = " ".join(words)
    if len(words) != 1 or not is_timezone(name):
        raise Refusal(copy.unknown_timezone(name))
    await ctx.uow.members.save(replace(ctx.member, tz=name))
    return [Reply(copy.say(f"Saved: your timezone is {name}. No reminders or prompts at night."))]


async def forget_prompt(ctx: Context) -> list[Answer]:
    return [Reply(copy.forget_prompt())]


async def forget(ctx: Context) -> list[Answer]:
    """Delete names and texts, keep the ids of gives so others' counts stay right."""
    cid, member_id = ctx.cid, ctx.member_id
    words = [ask.text for ask in await ctx.uow.asks.by_asker(cid, member_id)]
    words += [g.note for g in await ctx.uow.gives.involving(cid, member_id) if g.note]
    redact = redactor(words)
    await ctx.uow.outbox.forget(cid, member_id, redact)  # sent or pending
    await ctx.uow.asks.erase_texts(cid, member_id, ERASED)
    await ctx.uow.gives.erase_notes(cid, member_id)
    await ctx.uow.connector.forget(cid, member_id)
    await cups.forget(ctx.uow, cid, member_id, redact)
    await ctx.uow.members.save(
        replace(ctx.member, display_name=None, tz=None, opt_outs=frozenset(OptOut), forgotten=True)
    )
    for ask in await ctx.uow.asks.by_asker(cid, member_id):
        if ask.status is AskStatus.OPEN:
            ask = replace(ask, status=AskStatus.CLOSED, last_activity_at=ctx.now)
            await ctx.uow.asks.save(ask)
        await ctx.refresh_card(ask)
    return [Reply(copy.forgotten())]
