"""The web dashboard's rules: signing in by DM, who may see what, what each page
holds, and the use cases behind its forms. adapters/web turns requests into these
calls and renders what they return; it decides nothing about access itself.

- Sign-in: `/payforward dashboard` DMs a one-time link (15 minutes, single use); its
  token and the session it starts are stored as SHA-256 hashes only.
- A session is a person on a platform (their member id is the same in every community
  of that platform): they see the communities where they are a member and not
  forgotten, and a community's admin pages only while the admin flag recorded from
  their platform says so. Both are read again on every request.
- Community pages never show members who opted out of the leaderboard (nor forgotten
  members, who are opted out of everything). The weekly tables and chains come from
  bot/report.py, so they rank exactly as the weekly post does.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from bisect import bisect_right
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from bot import admin, copy, interests, membership
from bot.chains import MAX_LINKS, Chain, chains_of_week
from bot.context import Context, Refusal
from bot.domain import Ask, Community, Give, GiveStatus, Member, OptOut, platform_of
from bot.events import ButtonPressed, MemberInfo
from bot.messages import Answer, Reply
from bot.ports import Route, SignInLink, UnitOfWork, UnitOfWorkFactory, WebSession
from bot.report import WeeklyReport, weekly_report
from bot.scoring import Standing
from bot.weeks import local_date, local_midnight, week_of, weeks_back, zone

SIGN_IN_PATH = "/dashboard/signin/"  # the public URL's path that sign-in links open
LINK_TTL = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=12)
LINKS_PER_HOUR = 5
TABLE_ROWS = 25  # of a weekly table on a page (the post shows 10)
NEEDS_HELP = 10
SPANS = (12, 52)  # weeks a chart may cover
MEMBER_CHAINS = 10
ROUTED_SHOWN = 20  # the newest asks the connector sent a member, on their page
SETTINGS = admin.SETTINGS  # `config …` keys, each with a form on the settings page
# The member a routed DM's reason names: "you helped @U2 with “…”" (bot/connector.reason).
REASON_MENTION = re.compile(r"@(\S+)(?= with “)")
CONNECTOR = "connector"  # the opt-out that is kept by the connector, not on the member

Handler = Callable[[Context], Awaitable[list[Answer]]]


def new_secret() -> str:
    """256 random bits as hex: a link token, a session id or a form token. Hex, so
    that no chat's markdown can read part of a link as formatting (`_` is italics)."""
    return secrets.token_hex(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# Signing in.


async def send_link(ctx: Context) -> list[Answer]:
    """`/payforward dashboard`: a one-time sign-in link, by DM (never in the channel)."""
    if not ctx.dashboard_url:
        raise Refusal(copy.dashboard_off())
    recent = await ctx.uow.sign_ins.links_since(
        ctx.cid, ctx.member_id, ctx.now - timedelta(hours=1)
    )
    if recent >= LINKS_PER_HOUR:
        raise Refusal(copy.dashboard_too_many(LINKS_PER_HOUR))
    token = new_secret()
    link = SignInLink(ctx.cid, ctx.member_id, ctx.now + LINK_TTL)
    await ctx.uow.sign_ins.add_link(digest(token), link, ctx.now)
    url = f"{ctx.dashboard_url.rstrip('/')}{SIGN_IN_PATH}{token}"
    await ctx.dm(ctx.member_id, copy.dashboard_link(url, int(LINK_TTL.total_seconds() // 60)))
    return [Reply(copy.dashboard_link_sent())]


class LinkProblem(StrEnum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


async def check_link(uow: UnitOfWork, token: str, now: datetime) -> SignInLink | LinkProblem:
    """What opening the link would do, without using it (the page that asks to confirm)."""
    link = await uow.sign_ins.link(digest(token))
    if link is None:
        return LinkProblem.UNKNOWN
    if link.used_at is not None:
        return LinkProblem.USED
    if link.expires_at <= now:
        return LinkProblem.EXPIRED
    member = await uow.members.get(link.community_id, link.member_id)
    return LinkProblem.UNKNOWN if member is None or member.forgotten else link


@dataclass(frozen=True)
class SignedIn:
    token: str  # the session's secret, for the browser's cookie only
    session: WebSession
    community_id: str  # where the link was asked for: the first page to show


async def sign_in(
    uow_factory: UnitOfWorkFactory, token: str, now: datetime, replacing: str | None = None
) -> SignedIn | LinkProblem:
    """Use the link and start a fresh session (a session the browser had is ended: a
    new sign-in never keeps an old id)."""
    async with uow_factory() as uow:
        checked = await check_link(uow, token, now)
        if isinstance(checked, LinkProblem):
            return checked
        if not await uow.sign_ins.use_link(digest(token), now):
            return LinkProblem.USED  # another request used it a moment ago
        if replacing:
            await uow.sign_ins.end_session(digest(replacing))
        await uow.sign_ins.prune(now)
        secret = new_secret()
        session = WebSession(
            platform_of(checked.community_id), checked.member_id, new_secret(), now + SESSION_TTL
        )
        await uow.sign_ins.add_session(digest(secret), session, now)
        await uow.commit()
    return SignedIn(secret, session, checked.community_id)


async def sign_out(uow_factory: UnitOfWorkFactory, token: str) -> None:
    async with uow_factory() as uow:
        await uow.sign_ins.end_session(digest(token))
        await uow.commit()


# Who may see what.


@dataclass(frozen=True)
class Viewer:
    session: WebSession

    @property
    def member_id(self) -> str:
        return self.session.member_id

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token


async def viewer(uow: UnitOfWork, token: str | None, now: datetime) -> Viewer | None:
    """The signed-in person behind a session cookie, or None."""
    if not token:
        return None
    session = await uow.sign_ins.session(digest(token), now)
    return None if session is None else Viewer(session)


@dataclass(frozen=True)
class Access:
    """A viewer inside one community they belong to."""

    community: Community
    member: Member

    @property
    def admin(self) -> bool:
        return self.member.is_admin


async def access(uow: UnitOfWork, who: Viewer, community_id: str) -> Access | None:
    """None unless the viewer is a member (not forgotten) of that community: another
    community's pages answer exactly as a community that does not exist."""
    if platform_of(community_id) != who.session.platform:
        return None
    member = await uow.members.get(community_id, who.member_id)
    if member is None or member.forgotten:
        return None
    community = await uow.communities.get(community_id)
    return None if community is None else Access(community, member)


async def communities(uow: UnitOfWork, who: Viewer) -> list[Community]:
    """The viewer's communities (a member belongs to a handful), with their names."""
    ids = await uow.dashboard.communities_of(who.session.platform, who.member_id)
    found = [await uow.communities.get(community_id) for community_id in ids]
    return [community for community in found if community is not None]


# Pages.


@dataclass(frozen=True)
class Activity:
    """Per week, oldest first; the last week is the one under way."""

    weeks: list[tuple[datetime, datetime]]
    gives: list[int]  # confirmed gives (the weekly post's sparkline counts these)
    helped: list[int]  # distinct people who received them
    connections: list[int]  # asks resolved by a member the connector reached
    conversations: list[int]  # cups whose first *We met* fell in the week


@dataclass(frozen=True)
class Week:
    start: datetime
    end: datetime
    table: list[Standing]  # the top TABLE_ROWS, ranked as the weekly post ranks
    ranked: int  # how many members the whole table has
    mine: Standing | None  # the viewer's own row, when they are in the table
    chains: list[Chain]
    shared: list[Give]


@dataclass(frozen=True)
class CommunityPage:
    community: Community
    week: Week  # the week under way
    activity: Activity
    needs_help: list[Ask]
    past_weeks: list[tuple[datetime, datetime]]  # newest first
    names: dict[str, str]


@dataclass(frozen=True)
class WeekPage:
    community: Community
    week: Week
    names: dict[str, str]


@dataclass(frozen=True)
class Routed:
    """An ask the connector sent the member, and what became of it."""

    route: Route  # when, why, and whether they offered or said *Not this time*
    ask: Ask
    thanked: bool  # the asker confirmed the member's help on it: a connection


@dataclass(frozen=True)
class MemberPage:
    community: Community
    member: Member
    weeks: list[tuple[datetime, datetime]]
    given: list[int]
    received: list[int]
    chains: list[Chain]
    names: dict[str, str]
    interests: list[str]
    connector_on: bool  # opted in to the connector (declaring interests does it too)
    routed: list[Routed]  # newest first, at most ROUTED_SHOWN
    routed_in_all: int


@dataclass(frozen=True)
class AdminPage:
    community: Community
    channels: list[str]  # where the weekly post may go: where asks were posted
    channel_names: dict[str, str] = field(default_factory=dict)  # those the platform named


def _week(report: WeeklyReport, member_id: str, hidden: set[str]) -> Week:
    mine = next((s for s in report.table if s.member_id == member_id), None)
    return Week(
        start=report.start,
        end=report.end,
        table=report.table[:TABLE_ROWS],
        ranked=len(report.table),
        mine=mine,
        chains=report.chains,
        shared=[g for g in report.shared if g.giver_id not in hidden],
    )


def _people(week: Week, *more: Iterable[str]) -> set[str]:
    ids = {s.member_id for s in week.table} | {g.giver_id for g in week.shared}
    ids |= {m for chain in week.chains for m in chain.members}
    for group in more:
        ids |= set(group)
    return ids


async def _hidden(uow: UnitOfWork, community_id: str) -> set[str]:
    return await uow.members.opted_out(community_id, OptOut.LEADERBOARD)


async def community_page(uow: UnitOfWork, seen: Access, now: datetime, span: int) -> CommunityPage:
    """The week under way, `span` weeks of activity, and the asks that need help."""
    community, cid = seen.community, seen.community.community_id
    start, end = week_of(now, community.timezone)
    report = await weekly_report(uow, community, start, end, public=True, now=now)
    hidden = await _hidden(uow, cid)
    week = _week(report, seen.member.member_id, hidden)
    weeks = weeks_back(start, community.timezone, span)
    activity = Activity(
        weeks,
        await uow.gives.weekly_counts(cid, weeks, settled_before=now),
        await uow.dashboard.people_helped(cid, weeks, settled_before=now),
        # The week under way's connections are the report's, as its post would say.
        [*await uow.dashboard.connections_per_week(cid, weeks[:-1], now), report.connections],
        # Counted live: a late *We met* may still land in a finished week.
        await uow.cups.conversations_per_week(cid, weeks),
    )
    candidates = await uow.asks.open_asks(cid, without_offers=True, limit=NEEDS_HELP * 3)
    needs_help = [a for a in candidates if a.asker_id not in hidden][:NEEDS_HELP]
    names = await uow.dashboard.names(cid, _people(week, (a.asker_id for a in needs_help)))
    return CommunityPage(community, week, activity, needs_help, weeks[-2::-1], names)


def past_week(community: Community, day: date, now: datetime) -> tuple[datetime, datetime] | None:
    """The finished week that starts on `day` (a Monday), within the last year."""
    current, _ = week_of(now, community.timezone)
    if day.weekday() != 0:
        return None
    start = local_midnight(day, zone(community.timezone))
    if not current - timedelta(weeks=max(SPANS) + 1) < start < current:
        return None
    return week_of(start, community.timezone)


async def week_page(uow: UnitOfWork, seen: Access, day: date, now: datetime) -> WeekPage | None:
    """A finished week's table, chains and shared things, as that week's post had them
    (less anyone who has opted out since)."""
    community = seen.community
    found = past_week(community, day, now)
    if found is None:
        return None
    report = await weekly_report(uow, community, *found, public=True, now=now)
    week = _week(report, seen.member.member_id, await _hidden(uow, community.community_id))
    names = await uow.dashboard.names(community.community_id, _people(week))
    return WeekPage(community, week, names)


def week_day(start: datetime, community: Community) -> date:
    """The local Monday a week starts on: how its page is addressed."""
    return local_date(start, community.timezone)


async def member_page(uow: UnitOfWork, seen: Access, now: datetime, span: int) -> MemberPage:
    """The viewer's own help over `span` weeks and the chains they are part of."""
    community, member = seen.community, seen.member
    cid, member_id = community.community_id, member.member_id
    start, _ = week_of(now, community.timezone)
    weeks = weeks_back(start, community.timezone, span)
    given, received = await uow.dashboard.member_gives(cid, member_id, weeks[0][0], weeks[-1][1])
    ends = await uow.dashboard.member_chain_ends(cid, member_id, MEMBER_CHAINS)
    paths = (await uow.gives.chains_back(ends, MAX_LINKS)).values()
    others_hidden = await _hidden(uow, cid) - {member_id}
    found = chains_of_week(paths, exclude=others_hidden, limit=MEMBER_CHAINS * 3)
    chains = [c for c in found if member_id in c.members][:MEMBER_CHAINS]
    routes = await uow.connector.routes_of(cid, member_id)
    routed = await _routed(uow, member_id, routes[-ROUTED_SHOWN:][::-1])
    people = {m for c in chains for m in c.members} | {member_id}
    for r in routed:
        people |= {r.ask.asker_id, *REASON_MENTION.findall(r.route.reason)}
    names = await uow.dashboard.names(cid, people)
    return MemberPage(
        community,
        member,
        weeks,
        _per_week(given, weeks),
        _per_week(received, weeks),
        chains,
        names,
        interests=await uow.connector.interests(cid, member_id),
        connector_on=bool(await uow.connector.opted_in(cid, member_id)),
        routed=routed,
        routed_in_all=len(routes),
    )


async def _routed(uow: UnitOfWork, member_id: str, routes: list[Route]) -> list[Routed]:
    found = []
    for route in routes:
        ask = await uow.asks.get(route.ask_id)
        if ask is None:
            continue
        thanked = route.offered_at is not None and any(
            g.giver_id == member_id and g.status is GiveStatus.CONFIRMED
            for g in await uow.gives.for_ask(ask.id)
        )
        found.append(Routed(route, ask, thanked))
    return found


def _per_week(instants: list[datetime], weeks: list[tuple[datetime, datetime]]) -> list[int]:
    """How many of `instants` fall in each of the consecutive `weeks`."""
    starts = [start for start, _ in weeks]
    counts = [0] * len(weeks)
    for at in instants:
        i = bisect_right(starts, at) - 1
        if i >= 0 and at < weeks[i][1]:
            counts[i] += 1
    return counts


async def admin_page(uow: UnitOfWork, seen: Access) -> AdminPage:
    community = seen.community
    channels = await uow.dashboard.channels(community.community_id, limit=50)
    if community.channel_id and community.channel_id not in channels:
        channels.insert(0, community.channel_id)
    names = await uow.communities.channel_names(community.community_id, channels)
    return AdminPage(community, channels, names)


def web_event(seen: Access, action: str) -> ButtonPressed:
    """A form sent from the dashboard, as the normalized event PayForward.perform takes:
    its own id, and no word on the admin flag (the recorded one stands)."""
    return ButtonPressed(
        event_id=f"dashboard:{new_secret()}",
        community_id=seen.community.community_id,
        actor=MemberInfo(seen.member.member_id, is_admin=None),
        action=f"dashboard_{action}",
    )


async def export(uow: UnitOfWork, seen: Access, now: datetime) -> str:
    """The same JSON as `/payforward export`, read in the request's own transaction."""
    ctx = Context(uow, now, seen.community, seen.member, web_event(seen, "export"))
    return await membership.export_document(ctx)


# The forms' use cases, run by PayForward.perform in a unit of work of their own.


def choose_opt_outs(chosen: frozenset[OptOut], connector: bool | None = None) -> Handler:
    """Opt out of exactly `chosen`, in to everything else; and in to the connector or
    out of it (`connector`: True for in), as `/payforward optin|optout connector` do.
    A member who never chose about the connector and leaves it off stays undecided."""

    async def use(ctx: Context) -> list[Answer]:
        await ctx.uow.members.save(replace(ctx.member, opt_outs=chosen))
        out = sorted(o.value for o in chosen)
        if connector is not None:
            was = bool(await ctx.uow.connector.opted_in(ctx.cid, ctx.member_id))
            if connector != was:
                await ctx.uow.connector.set_opted_in(ctx.cid, ctx.member_id, connector)
            if not connector:
                out = sorted([*out, CONNECTOR])
        return [Reply(copy.opt_outs_saved(out))]

    return use


def change_interests(value: str) -> Handler:
    """`/payforward interests VALUE` from the member page's field, with its checks and
    its messages; an empty field is refused as an empty list of topics is (nothing
    saved), and `clear` (or the page's *Clear* button) clears them."""

    async def use(ctx: Context) -> list[Answer]:
        words = value.split()
        if not words:
            interests.parse_topics("")  # raises the command's own refusal
        return await interests.interests(ctx, words)

    return use


async def forget(ctx: Context) -> list[Answer]:
    """`/payforward forget`, and the dashboard's sessions of that person end with it."""
    answers = await membership.forget(ctx)
    await ctx.uow.sign_ins.end_sessions_of(ctx.community.platform, ctx.member_id)
    return answers


def change_setting(key: str, value: str) -> Handler:
    """`/payforward config KEY VALUE`, with its checks and its messages. The dashboard
    has no live word from the platform, so the admin flag recorded from the member's
    latest event there stands for it, read in this very transaction."""

    async def use(ctx: Context) -> list[Answer]:
        if not ctx.member.is_admin:
            raise Refusal(copy.not_admin())
        ctx.event = replace(ctx.event, actor=replace(ctx.event.actor, is_admin=True))
        return await admin.configure(ctx, [key, *value.split()])

    return use
