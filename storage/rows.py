"""Table rows to frozen domain objects and back, by hand.

The repositories select plain columns and build the domain dataclasses here: no ORM
identity map, no lazy loading, nothing to keep in sync with the domain but these
functions. Each `*_COLUMNS` tuple is the select list its `*_from_row` reads.
"""

from __future__ import annotations

import json
from datetime import date, time, timedelta
from typing import Any

from sqlalchemy import Row

from bot import codec
from bot.domain import (
    Ask,
    AskStatus,
    Community,
    CupsRhythm,
    Give,
    GiveSource,
    GiveStatus,
    Member,
    MessageRef,
    Offer,
    OfferStatus,
    OptOut,
    Schedule,
)
from bot.messages import Priority
from bot.ports import OutboxItem
from storage.models import asks, communities, gives, members, offers, outbox

Values = dict[str, Any]

COMMUNITY_COLUMNS = tuple(c for c in communities.c if c.name not in ("ask_seq", "created_at"))
MEMBER_COLUMNS = tuple(members.c)
ASK_COLUMNS = tuple(asks.c)
OFFER_COLUMNS = tuple(offers.c)
GIVE_COLUMNS = tuple(gives.c)
# An ask and one of its offers in one row: the offer's columns are prefixed, as both
# tables have a status and a created_at.
ASK_AND_OFFER_COLUMNS = (*ASK_COLUMNS, *(c.label(f"offer_{c.name}") for c in offers.c))
OUTBOX_COLUMNS = (
    outbox.c.id,
    outbox.c.community_id,
    outbox.c.target,
    outbox.c.message,
    outbox.c.due_at,
    outbox.c.attempts,
    outbox.c.purpose,
    outbox.c.priority,
)


def _hhmm(at: time) -> str:
    return at.strftime("%H:%M")


def community_values(community: Community) -> Values:
    prompts = community.prompts
    return {
        "channel_id": community.channel_id,
        "timezone": community.timezone,
        "leaderboard_weekday": community.leaderboard.weekday,
        "leaderboard_time": _hhmm(community.leaderboard.at),
        "prompts_weekday": None if prompts is None else prompts.weekday,
        "prompts_time": None if prompts is None else _hhmm(prompts.at),
        "offer_emoji": community.offer_emoji,
        "connector_minutes": (
            None
            if community.connector_after is None
            else int(community.connector_after.total_seconds() // 60)
        ),
        **cups_values(community.cups),
    }


def cups_values(rhythm: CupsRhythm | None) -> Values:
    return {
        "cups_weeks": None if rhythm is None else rhythm.weeks,
        "cups_weekday": None if rhythm is None else rhythm.schedule.weekday,
        "cups_time": None if rhythm is None else _hhmm(rhythm.schedule.at),
        "cups_anchor": None if rhythm is None else rhythm.anchor.isoformat(),
    }


def cups_from_row(row: Row[Any]) -> CupsRhythm | None:
    if row.cups_weeks is None:
        return None
    schedule = Schedule(row.cups_weekday, time.fromisoformat(row.cups_time))
    return CupsRhythm(row.cups_weeks, schedule, date.fromisoformat(row.cups_anchor))


def community_from_row(row: Row[Any]) -> Community:
    prompts = None
    if row.prompts_weekday is not None:
        prompts = Schedule(row.prompts_weekday, time.fromisoformat(row.prompts_time))
    return Community(
        community_id=row.community_id,
        channel_id=row.channel_id,
        timezone=row.timezone,
        leaderboard=Schedule(row.leaderboard_weekday, time.fromisoformat(row.leaderboard_time)),
        prompts=prompts,
        offer_emoji=row.offer_emoji,
        connector_after=(
            None if row.connector_minutes is None else timedelta(minutes=row.connector_minutes)
        ),
        cups=cups_from_row(row),
        name=row.name,
    )


OPT_OUT_COLUMNS = {
    OptOut.LEADERBOARD: members.c.optout_leaderboard,
    OptOut.PROMPTS: members.c.optout_prompts,
    OptOut.REMINDERS: members.c.optout_reminders,
}


def member_values(member: Member) -> Values:
    values: Values = {
        "community_id": member.community_id,
        "member_id": member.member_id,
        "display_name": member.display_name,
        "tz": member.tz,
        "last_active_at": member.last_active_at,
        "forgotten": member.forgotten,
        "is_admin": member.is_admin,
    }
    for opt_out, column in OPT_OUT_COLUMNS.items():
        values[column.name] = opt_out in member.opt_outs
    return values


def member_from_row(row: Row[Any]) -> Member:
    return Member(
        community_id=row.community_id,
        member_id=row.member_id,
        display_name=row.display_name,
        tz=row.tz,
        opt_outs=frozenset(o for o, column in OPT_OUT_COLUMNS.items() if getattr(row, column.name)),
        last_active_at=row.last_active_at,
        forgotten=row.forgotten,
        is_admin=row.is_admin,
    )


def ask_values(ask: Ask) -> Values:
    return {
        "community_id": ask.community_id,
        "number": ask.number,
        "asker_id": ask.asker_id,
        "channel_id": ask.channel_id,
        "text": ask.text,
        "status": ask.status.value,
        "created_at": ask.created_at,
        "last_activity_at": ask.last_activity_at,
        "message_channel_id": None if ask.message is None else ask.message.channel_id,
        "message_id": None if ask.message is None else ask.message.message_id,
        "resolved_at": ask.resolved_at,
        "bumped_at": ask.bumped_at,
    }


def ask_from_row(row: Row[Any]) -> Ask:
    message = None
    if row.message_id is not None:
        message = MessageRef(row.message_channel_id, row.message_id)
    return Ask(
        id=row.id,
        community_id=row.community_id,
        number=row.number,
        asker_id=row.asker_id,
        channel_id=row.channel_id,
        text=row.text,
        status=AskStatus(row.status),
        created_at=row.created_at,
        last_activity_at=row.last_activity_at,
        message=message,
        resolved_at=row.resolved_at,
        bumped_at=row.bumped_at,
    )


def offer_values(offer: Offer) -> Values:
    return {
        "ask_id": offer.ask_id,
        "member_id": offer.member_id,
        "status": offer.status.value,
        "created_at": offer.created_at,
        "reminders_sent": offer.reminders_sent,
    }


def offer_from_row(row: Row[Any]) -> Offer:
    return Offer(
        ask_id=row.ask_id,
        member_id=row.member_id,
        status=OfferStatus(row.status),
        created_at=row.created_at,
        reminders_sent=row.reminders_sent,
    )


def ask_and_offer_from_row(row: Row[Any]) -> tuple[Ask, Offer]:
    return ask_from_row(row), Offer(
        ask_id=row.offer_ask_id,
        member_id=row.offer_member_id,
        status=OfferStatus(row.offer_status),
        created_at=row.offer_created_at,
        reminders_sent=row.offer_reminders_sent,
    )


def give_values(give: Give) -> Values:
    return {
        "community_id": give.community_id,
        "giver_id": give.giver_id,
        "receiver_id": give.receiver_id,
        "source": give.source.value,
        "status": give.status.value,
        "note": give.note,
        "ask_id": give.ask_id,
        "created_at": give.created_at,
        "confirmed_at": give.confirmed_at,
        "share_ok": give.share_ok,
        "forward": give.forward,
        "follows": give.follows,
        "depth": give.depth,
    }


def give_from_row(row: Row[Any]) -> Give:
    return Give(
        id=row.id,
        community_id=row.community_id,
        giver_id=row.giver_id,
        receiver_id=row.receiver_id,
        source=GiveSource(row.source),
        status=GiveStatus(row.status),
        created_at=row.created_at,
        note=row.note,
        ask_id=row.ask_id,
        confirmed_at=row.confirmed_at,
        share_ok=row.share_ok,
        forward=row.forward,
        follows=row.follows,
        depth=row.depth,
    )


def to_json(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def outbox_item_from_row(row: Row[Any]) -> OutboxItem:
    return OutboxItem(
        id=row.id,
        community_id=row.community_id,
        target=codec.target_from_data(json.loads(row.target)),
        message=codec.message_from_data(json.loads(row.message)),
        due_at=row.due_at,
        attempts=row.attempts,
        purpose=row.purpose,
        priority=Priority(row.priority),
    )
