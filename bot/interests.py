"""The connector's member commands: `/payforward interests [topics|clear]`,
`/payforward who <text>` and `/payforward optin|optout connector`, with what `me`,
`export` and `forget` show and remove of it.

Routing is opt-in: declaring interests opts a member in, `optin connector` does
without interests, `optout connector` stops it (the interests are kept).
"""

from __future__ import annotations

from typing import Any

from bot import connector, terms
from bot.context import Context, Refusal
from bot.copy import lines, say, snippet
from bot.messages import Answer, Block, Mention, Reply, Span, Style, UserText, text
from bot.parsing import CHANNEL, MENTION
from bot.ports import UnitOfWork

MAX_TOPICS = 10
MAX_TOPIC_LENGTH = 40
INTERESTS_USAGE = "`/payforward interests python, public speaking` (topics separated by commas)"
WHO_USAGE = "Usage: `/payforward who <topic or question>` — e.g. `/payforward who helm charts`"


def parse_topics(value: str) -> list[str]:
    """Comma-separated topics, trimmed, duplicates (any case) dropped; a Refusal in
    plain words when they break a rule, so nothing is saved."""
    raw = [" ".join(part.split()) for part in value.replace(";", ",").split(",")]
    first: dict[str, str] = {}
    for topic in raw:
        if topic:
            first.setdefault(topic.lower(), topic)
    topics = list(first.values())
    if not topics:
        raise Refusal(f"Name at least one topic, like {INTERESTS_USAGE}.")
    if len(topics) > MAX_TOPICS:
        raise Refusal(
            f"That's {len(topics)} topics; the limit is {MAX_TOPICS}. Nothing was saved — "
            "keep the ones you most like to help with."
        )
    for topic in topics:
        if len(topic) > MAX_TOPIC_LENGTH:
            raise Refusal(
                f"“{topic[:MAX_TOPIC_LENGTH]}…” is {len(topic)} characters; a topic can have "
                f"at most {MAX_TOPIC_LENGTH}. Nothing was saved."
            )
        if MENTION.search(topic) or CHANNEL.search(topic):
            raise Refusal("Topics are words, not people or channels. Nothing was saved.")
        if not terms.stems(topic):
            raise Refusal(
                f"“{topic}” has no word I can match asks on (like `python` or "
                "`public speaking`). Nothing was saved."
            )
    return topics


async def interests(ctx: Context, words: list[str]) -> list[Answer]:
    cid, member_id = ctx.cid, ctx.member_id
    value = " ".join(words).strip()
    if not value:
        return [Reply(await _shown(ctx.uow, cid, member_id))]
    if value.lower() == "clear":
        await ctx.uow.connector.set_interests(cid, member_id, [])
        opted = await ctx.uow.connector.opted_in(cid, member_id)
        still = (
            " You're still opted in to the connector (the help you gave still counts); "
            "`/payforward optout connector` stops it."
            if opted
            else ""
        )
        return [Reply(say(f"Cleared your interests.{still}"))]
    topics = parse_topics(value)
    await ctx.uow.connector.set_interests(cid, member_id, [(t, terms.stems(t)) for t in topics])
    await ctx.uow.connector.set_opted_in(cid, member_id, True)
    return [
        Reply(
            say(
                "Saved your interests: ",
                *_listed(topics),
                ". You're opted in to the connector: when an ask nobody has offered on "
                f"matches them or the help you gave, I may DM it to you (at most "
                f"{connector.ROUTES_PER_WEEK} a week). `/payforward optout connector` stops it.",
            )
        )
    ]


async def _shown(uow: UnitOfWork, community_id: str, member_id: str) -> Any:
    topics = await uow.connector.interests(community_id, member_id)
    opted = await uow.connector.opted_in(community_id, member_id)
    state = "on" if opted else "off"
    if not topics:
        return say(
            f"You haven't listed any interests (the connector is {state} for you). "
            f"List what you like to help with: {INTERESTS_USAGE}."
        )
    return say(
        "Your interests: ",
        *_listed(topics),
        f". The connector is {state} for you. Change them with {INTERESTS_USAGE}, "
        "or `/payforward interests clear`.",
    )


def _listed(topics: list[str]) -> tuple[Span, ...]:
    spans: list[Span] = []
    for i, topic in enumerate(topics):
        spans += [", *" if i else "*", UserText(topic), "*"]
    return tuple(spans)


async def set_connector(ctx: Context, *, opted_in: bool) -> list[Answer]:
    await ctx.uow.connector.set_opted_in(ctx.cid, ctx.member_id, opted_in)
    if opted_in:
        return [
            Reply(
                say(
                    "You're in: when an ask nobody has offered on matches the help you gave or "
                    f"your interests, I may DM it to you (at most {connector.ROUTES_PER_WEEK} a "
                    "week). Add topics with `/payforward interests …`."
                )
            )
        ]
    return [
        Reply(
            say(
                "Done — no more asks sent to you, and you won't show up in "
                "`/payforward who`. `/payforward optin connector` undoes it."
            )
        )
    ]


async def who(ctx: Context, words: list[str]) -> list[Answer]:
    value = " ".join(words).strip()
    if not value:
        return [Reply(say(WHO_USAGE))]
    found = await connector.who_knows(ctx.uow, ctx.cid, value, now=ctx.now, caller=ctx.member_id)
    if not found:
        return [
            Reply(
                say(
                    "I don't know anyone for “",
                    snippet(value, 100),
                    "” yet. Ask it with `/ask`: as people help, I learn who knows what.",
                )
            )
        ]
    blocks: list[Block] = [
        text("Who might help with “", snippet(value, 100), "”", style=Style.HEADING)
    ]
    for candidate in found:
        blocks.append(
            text(
                Mention(candidate.member_id),
                " — ",
                *connector.reason(candidate, you=False),
                style=Style.ITEM,
            )
        )
    blocks.append(text("Only you can see this.", style=Style.CONTEXT))
    return [Reply(lines(*blocks))]


# What `me`, `export` and `forget` add.


async def summary(uow: UnitOfWork, community_id: str, member_id: str) -> Block:
    topics = await uow.connector.interests(community_id, member_id)
    opted = await uow.connector.opted_in(community_id, member_id)
    listed: tuple[Span, ...] = (" · interests: ", *_listed(topics)) if topics else ()
    if not opted:
        return text(
            "Connector: off — `/payforward interests …` or `/payforward optin connector`",
            style=Style.ITEM,
        )
    return text("Connector: on", *listed, style=Style.ITEM)


async def exported(uow: UnitOfWork, community_id: str, member_id: str) -> dict[str, Any]:
    routes = await uow.connector.routes_of(community_id, member_id)

    def stamp(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "interests": await uow.connector.interests(community_id, member_id),
        "connector_opted_in": await uow.connector.opted_in(community_id, member_id),
        "routed_to_me": [
            {
                "ask_id": r.ask_id,
                "routed_at": stamp(r.routed_at),
                "round": r.round,
                "reason": r.reason,
                "offered_at": stamp(r.offered_at),
                "declined_at": stamp(r.declined_at),
            }
            for r in routes
        ],
    }
