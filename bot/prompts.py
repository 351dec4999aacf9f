"""The weekly "what have you shared lately, with no return expected?" prompt.

A DM to every member active in the last 30 days, queued a page at a time so a
100,000-member community never needs one huge transaction (bot/jobs.py keeps the
page cursor in the job's claim). Answers become reported gives: with a member named,
that member confirms it as with `/give @member`; without, it is shared with the
community. Prompts are reflection, not a score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from bot import copy
from bot.context import Context, Refusal, queue_quiet_dm
from bot.domain import MAX_NOTE_LENGTH, Community, GiveSource, Member, OptOut
from bot.events import FieldValue
from bot.giving import record_give
from bot.messages import Answer, FieldKind, Form, FormField, OpenForm, Priority, Reply
from bot.ports import UnitOfWork

ACTIVE_WINDOW = timedelta(days=30)
PAGE = 500
ACTIONS = (copy.SHARE, copy.NOTHING_THIS_WEEK, copy.PAUSE_PROMPTS)

SHARE_FORM = Form(
    form=copy.SHARE_FORM,
    title="Share something",
    submit_label="Share",
    intro="What did you share lately, with no return expected?",
    fields=(
        FormField("what", "What did you share?", FieldKind.LONG_TEXT, True, max_length=1000),
        FormField("with", "With whom? (optional)", FieldKind.MEMBER),
        FormField("public", "OK to mention it in the weekly post", FieldKind.BOOLEAN),
    ),
)


async def send_page(
    uow: UnitOfWork, community: Community, now: datetime, after: str | None
) -> str | None:
    """Queue the prompt for one page of active members after member id `after`; the
    cursor to continue from, or None when every member has been reached."""
    page = await uow.members.active_page(community.community_id, now - ACTIVE_WINDOW, after, PAGE)
    for member in page:
        if not member.forgotten:
            await queue_quiet_dm(
                uow,
                community,
                member,
                copy.prompt(),
                now,
                unless=OptOut.PROMPTS,
                priority=Priority.BULK,
            )
    return page[-1].member_id if len(page) == PAGE else None


async def answer(ctx: Context, action: str) -> list[Answer]:
    if action == copy.SHARE:
        return [OpenForm(SHARE_FORM)]
    if action == copy.PAUSE_PROMPTS:
        opt_outs = ctx.member.opt_outs | {OptOut.PROMPTS}
        await ctx.uow.members.save(replace(ctx.member, opt_outs=opt_outs))
        return await ctx.answer_in_place(copy.prompts_paused())
    return await ctx.answer_in_place(copy.nothing_this_week())


async def submit_share(ctx: Context, fields: Mapping[str, FieldValue]) -> list[Answer]:
    what, whom, public = fields.get("what"), fields.get("with") or None, fields.get("public")
    if not isinstance(what, str) or not what.strip():
        raise Refusal("Tell me what you shared — the first field can't be empty.")
    if len(what) > MAX_NOTE_LENGTH:
        raise Refusal(f"Please keep it under {MAX_NOTE_LENGTH:,} characters. Nothing was saved.")
    if whom is not None and not isinstance(whom, str):
        raise Refusal("That form came back in a shape I don't understand; nothing was saved.")
    if whom == ctx.member_id:
        raise Refusal("You can't log a give to yourself — leave “with whom” empty instead.")
    if whom is not None and await ctx.uow.members.get(ctx.cid, whom) is None:
        await ctx.uow.members.save(Member(ctx.cid, whom))
    await record_give(ctx, whom, what.strip(), GiveSource.PROMPT, share_ok=public is True)
    return [Reply(copy.shared_thanks(whom, public is True))]
