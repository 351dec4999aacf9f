"""From the core's pages (bot/dashboard.py) to what the templates and the JSON show:
names instead of ids, dates in the community's timezone, charts as geometry."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from adapters.web.charts import BarChart, bar_chart
from adapters.web.links import message_link
from bot.dashboard import (
    REASON_MENTION,
    CommunityPage,
    MemberPage,
    Routed,
    Week,
    WeekPage,
    week_day,
)
from bot.domain import Ask, Community
from bot.scoring import Standing
from bot.weeks import zone

NameOf = Callable[[str], str]


def name_of(names: Mapping[str, str]) -> NameOf:
    """A member's display name, or their platform id when none is known."""
    return lambda member_id: names.get(member_id) or member_id


def short_day(instant: datetime, timezone: str) -> str:
    return f"{instant.astimezone(zone(timezone)):%-d %b}"


def typed_delay(after: timedelta | None) -> str:
    """A delay as `config connector` takes it: `30m`, `2h`, `1h30m`, or `off`."""
    if after is None:
        return "off"
    hours, minutes = divmod(int(after.total_seconds() // 60), 60)
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes or not hours else "")


def week_label(start: datetime, end: datetime, timezone: str) -> str:
    tz = zone(timezone)
    first, last = start.astimezone(tz), (end - timedelta(seconds=1)).astimezone(tz)
    if first.month == last.month:
        return f"{first.day}–{last.day} {last:%b %Y}"
    if first.year == last.year:
        return f"{first.day} {first:%b} – {last.day} {last:%b %Y}"
    return f"{first:%-d %b %Y} – {last:%-d %b %Y}"


def _span_words(weeks: list[tuple[datetime, datetime]], timezone: str) -> str:
    return (
        f"{len(weeks)} weeks from {short_day(weeks[0][0], timezone)} "
        f"to {short_day(weeks[-1][1] - timedelta(seconds=1), timezone)}"
    )


def _summary(what: str, values: list[int], weeks: list[tuple[datetime, datetime]], tz: str) -> str:
    best = max(range(len(values)), key=lambda i: (values[i], i), default=None)
    text = f"{what}, {_span_words(weeks, tz)}: {sum(values)} in all"
    if best is not None and values[best]:
        text += f", most in the week of {short_day(weeks[best][0], tz)} ({values[best]})"
    return text + f"; this week so far {values[-1] if values else 0}."


def activity_charts(page: CommunityPage) -> list[BarChart]:
    """The community's charts, in the order shown: help first, then the connector's
    connections and the cups' conversations."""
    tz = page.community.timezone
    weeks = page.activity.weeks
    labels = [short_day(start, tz) for start, _ in weeks]
    gives, helped = page.activity.gives, page.activity.helped
    connections = page.activity.connections
    connected = _summary("Asks resolved by a member the connector reached", connections, weeks, tz)
    if page.community.connector_after is None:
        connected += " The connector is off in this community."
    conversations = page.activity.conversations
    talked = _summary("Coffee conversations members said happened", conversations, weeks, tz)
    if page.community.cups is None:
        talked += " Cups rounds are off in this community."
    return [
        bar_chart(
            "gives",
            "Confirmed gives per week",
            _summary("Confirmed gives per week", gives, weeks, tz),
            labels,
            [("Confirmed gives", gives)],
        ),
        bar_chart(
            "helped",
            "People helped per week",
            _summary("People helped per week", helped, weeks, tz),
            labels,
            [("People helped", helped)],
        ),
        bar_chart(
            "connections", "Connections per week", connected, labels, [("Connections", connections)]
        ),
        bar_chart(
            "conversations",
            "Conversations per week",
            talked,
            labels,
            [("Conversations", conversations)],
        ),
    ]


def member_chart(page: MemberPage) -> BarChart:
    tz = page.community.timezone
    weeks = page.weeks
    labels = [short_day(start, tz) for start, _ in weeks]
    summary = (
        f"Your confirmed gives, {_span_words(weeks, tz)}: "
        f"you gave {sum(page.given)} and received {sum(page.received)}."
    )
    return bar_chart(
        "mine",
        "Given and received per week",
        summary,
        labels,
        [("Given", page.given), ("Received", page.received)],
    )


def standing_json(s: Standing, names: NameOf) -> dict[str, Any]:
    return {
        "rank": s.rank,
        "member": s.member_id,
        "name": names(s.member_id),
        "helped": s.helped,
        "forward": s.forward,
        "gives": s.gives,
    }


def week_json(week: Week, community: Community, names: NameOf) -> dict[str, Any]:
    return {
        "start": week.start.isoformat(),
        "end": week.end.isoformat(),
        "label": week_label(week.start, week.end, community.timezone),
        "ranked": week.ranked,
        "table": [standing_json(s, names) for s in week.table],
        "you": None if week.mine is None else standing_json(week.mine, names),
        "chains": [[names(m) for m in chain.members] for chain in week.chains],
        "shared": [
            {"member": g.giver_id, "name": names(g.giver_id), "what": g.note or ""}
            for g in week.shared
        ],
    }


def ask_json(
    ask: Ask, community: Community, names: NameOf, slack_domains: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "number": ask.number,
        "text": ask.text,
        "asker": ask.asker_id,
        "name": names(ask.asker_id),
        "asked_at": ask.created_at.isoformat(),
        "link": message_link(community.community_id, ask.message, slack_domains),
    }


def community_json(page: CommunityPage, slack_domains: Mapping[str, str]) -> dict[str, Any]:
    names = name_of(page.names)
    community = page.community
    return {
        "community": community.community_id,
        "timezone": community.timezone,
        "this_week": week_json(page.week, community, names),
        "per_week": [
            {
                "week_start": start.isoformat(),
                "confirmed_gives": gives,
                "people_helped": helped,
                "connections": connections,
                "conversations": conversations,
            }
            for (start, _), gives, helped, connections, conversations in zip(
                page.activity.weeks,
                page.activity.gives,
                page.activity.helped,
                page.activity.connections,
                page.activity.conversations,
                strict=True,
            )
        ],
        "needs_help": [ask_json(a, community, names, slack_domains) for a in page.needs_help],
        "past_weeks": [str(week_day(start, community)) for start, _ in page.past_weeks],
    }


def week_page_json(page: WeekPage) -> dict[str, Any]:
    names = name_of(page.names)
    return {
        "community": page.community.community_id,
        "week": week_json(page.week, page.community, names),
    }


def member_json(page: MemberPage) -> dict[str, Any]:
    names = name_of(page.names)
    return {
        "community": page.community.community_id,
        "member": page.member.member_id,
        "name": names(page.member.member_id),
        "per_week": [
            {"week_start": start.isoformat(), "given": given, "received": received}
            for (start, _), given, received in zip(
                page.weeks, page.given, page.received, strict=True
            )
        ],
        "chains": [[names(m) for m in chain.members] for chain in page.chains],
        "opted_out_of": sorted(o.value for o in page.member.opt_outs),
        "interests": page.interests,
        "connector_opted_in": page.connector_on,
        "routed_to_me": [
            {
                "ask": r.ask.number,
                "text": r.ask.text,
                "asker": r.ask.asker_id,
                "name": names(r.ask.asker_id),
                "ask_status": r.ask.status.value,
                "routed_at": r.route.routed_at.isoformat(),
                "did": did(r),
                "thanked": r.thanked,
            }
            for r in page.routed
        ],
    }


def did(routed: Routed) -> str:
    """What the member did about an ask the connector sent them."""
    if routed.route.offered_at is not None:
        return "offered"
    if routed.route.declined_at is not None:
        return "not_this_time"
    return "no_answer"


STRONG = re.compile(r"\*([^*]+)\*")


def because(reason: str, names: Mapping[str, str]) -> list[tuple[bool, str]]:
    """Why the connector chose the member, as its DM said it ("you helped @U2 with
    “…” and you listed *python*"), with names for the ids it knows and the topics
    apart: (strong, text) parts for the template."""
    named = REASON_MENTION.sub(lambda m: "@" + names.get(m.group(1), m.group(1)), reason)
    return [(i % 2 == 1, part) for i, part in enumerate(STRONG.split(named)) if part]
