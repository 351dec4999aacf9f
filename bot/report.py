"""The weekly report: the table, the chains, the asks that need help, what was shared,
and the 12-week trend; and the messages that show it (the public weekly post and the
private `/payforward leaderboard`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.chains import MAX_LINKS, Chain, chains_of_week
from bot.copy import lines, quoted_spans, snippet, user_spans
from bot.domain import Ask, Community, Give, OptOut
from bot.messages import Block, Mention, Message, Span, Style, text
from bot.ports import UnitOfWork
from bot.scoring import Standing, sparkline, weekly_table
from bot.weeks import weeks_back, zone

TOP = 10
TREND_WEEKS = 12
CHAIN_CANDIDATES = 30  # the deepest chain ends of the week, enough to show the top 5
NEEDS_HELP = 5
SHARED = 5


@dataclass(frozen=True)
class WeeklyReport:
    start: datetime
    end: datetime
    timezone: str
    table: list[Standing]
    chains: list[Chain]
    needs_help: list[Ask]
    shared: list[Give]
    trend: list[int]
    connections: int = 0  # asks resolved by a member the connector reached (public only)
    conversations: int = 0  # cups whose members said *We met* this week (public only)

    @property
    def empty(self) -> bool:
        return not self.table


async def weekly_report(
    uow: UnitOfWork,
    community: Community,
    start: datetime,
    end: datetime,
    *,
    public: bool,
    now: datetime | None = None,
) -> WeeklyReport:
    """The week's report; chains, what was shared and the trend only for the `public`
    post (a member's private board shows neither, and they cost the most). Weeks of
    the trend that ended by `now` (without it: the weeks before this one) are counted
    once and then read back."""
    cid = community.community_id
    hidden = await uow.members.opted_out(cid, OptOut.LEADERBOARD)
    table = weekly_table(await uow.gives.pair_weeks(cid, start, end), hidden)
    needs_help = await uow.asks.open_asks(cid, without_offers=True, limit=NEEDS_HELP)
    if not public:
        return WeeklyReport(start, end, community.timezone, table, [], needs_help, [], [])
    ends = await uow.gives.chain_ends(cid, start, end, CHAIN_CANDIDATES)
    paths = (await uow.gives.chains_back([g.id for g in ends], MAX_LINKS)).values()
    weeks = weeks_back(start, community.timezone, TREND_WEEKS)
    trend = await uow.gives.weekly_counts(cid, weeks, settled_before=now or start)
    return WeeklyReport(
        start=start,
        end=end,
        timezone=community.timezone,
        table=table,
        # Chains name people publicly, so a leaderboard opt-out keeps a member out of them.
        chains=chains_of_week(paths, exclude=hidden),
        needs_help=needs_help,
        shared=(await uow.gives.shared(cid, start, end))[:SHARED],
        trend=trend,
        connections=await uow.connector.connections(cid, start, end),
        conversations=(await uow.cups.conversations_per_week(cid, [(start, end)]))[0],
    )


def week_label(report: WeeklyReport) -> str:
    tz = zone(report.timezone)
    first = report.start.astimezone(tz)
    last = (report.end - timedelta(seconds=1)).astimezone(tz)
    if first.month == last.month:
        return f"{first.day}–{last.day} {last:%b %Y}"
    return f"{first.day} {first:%b} – {last.day} {last:%b %Y}"


def scores(s: Standing) -> str:
    return f"helped {s.helped} · forward {s.forward} · gives {s.gives}"


def standing_line(s: Standing) -> Block:
    return text(f"{s.rank}. ", Mention(s.member_id), f" — {scores(s)}", style=Style.ITEM)


def chain_line(chain: Chain) -> Block:
    spans: list[Span] = [Mention(chain.members[0])]
    for i, member in enumerate(chain.members[1:]):
        spans += [" helped " if i == 0 else ", who helped ", Mention(member)]
    return text(*spans, style=Style.ITEM)


def ask_line(ask: Ask) -> Block:
    return text(
        f"#{ask.number} ",
        Mention(ask.asker_id),
        ": “",
        *quoted_spans(ask.text, 100),
        "”",
        style=Style.ITEM,
    )


def shared_line(give: Give) -> Block:
    return text(
        Mention(give.giver_id),
        ": ",
        *user_spans(snippet(give.note or "", 160).text),
        style=Style.ITEM,
    )


def weekly_post(report: WeeklyReport, title: str = "Pay-it-forward week") -> Message:
    """The public post. An empty week gets a warm nudge, never an empty table."""
    blocks = [text(f"🙌 {title} · {week_label(report)}", style=Style.HEADING)]
    if report.empty:
        blocks.append(
            text(
                "A quiet week — no confirmed help yet. Know something a colleague is stuck on? "
                "Offer on an ask below, or share a tip with `/give`. Small help counts."
            )
        )
    else:
        blocks.append(
            text("Top helpers — help given, above all with no return expected", style=Style.TEXT)
        )
        blocks.extend(standing_line(s) for s in report.table[:TOP])
    if report.connections:
        n = report.connections
        found = "ask found its helper" if n == 1 else "asks found their helper"
        blocks.append(text(f"🔗 {n} {found} through a connection this week"))
    if report.conversations:  # how many, never who (cups, bot/cups.py)
        n = report.conversations
        blocks.append(text(f"☕ {n} conversation{'' if n == 1 else 's'} this week"))
    if report.chains:
        blocks.append(text("Paid forward", style=Style.HEADING))
        blocks.extend(chain_line(c) for c in report.chains)
    if report.needs_help:
        blocks.append(text("Asks that still need help", style=Style.HEADING))
        blocks.extend(ask_line(a) for a in report.needs_help)
    if report.shared:
        blocks.append(text("Shared with everyone", style=Style.HEADING))
        blocks.extend(shared_line(g) for g in report.shared)
    blocks.append(
        text(
            f"{sparkline(report.trend)}  confirmed gives, last {len(report.trend)} weeks",
            style=Style.CODE,
        )
    )
    return lines(*blocks)


def private_board(report: WeeklyReport, member_id: str) -> Message:
    """`/payforward leaderboard`: this week so far, with the caller's own line."""
    blocks = [text(f"This week so far · {week_label(report)}", style=Style.HEADING)]
    if report.empty:
        blocks.append(text("No confirmed help yet this week — yours could be the first."))
    blocks.extend(standing_line(s) for s in report.table[:TOP])
    position, mine = next(
        ((i, s) for i, s in enumerate(report.table) if s.member_id == member_id), (0, None)
    )
    if mine is None:
        blocks.append(text("You're not on the board this week yet.", style=Style.CONTEXT))
    elif position >= TOP:  # not among the lines above
        blocks.append(text(f"You: #{mine.rank} — {scores(mine)}", style=Style.CONTEXT))
    if report.needs_help:
        blocks.append(text("Asks that need help", style=Style.HEADING))
        blocks.extend(ask_line(a) for a in report.needs_help)
    return lines(*blocks)
