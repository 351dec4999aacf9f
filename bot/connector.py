"""The connector's ranking: who in a community is most likely to help with a text.

It learns from the help the community confirmed, not from titles or roles:
- **Similar asks vote.** The database's full-text search finds the past asks most like
  the text; each member who helped on one gets a vote worth the ask's similarity,
  times GAVE for a confirmed give or OFFERED for an offer, halved every HALF_LIFE of
  age (recent help says more about today than old help).
- **Declared interests** (`/payforward interests …`) add INTEREST for each topic whose
  words appear in the text (a share of it when only some of them do).

How these were chosen, against profile BM25, interests alone, a random pick and the
most active helper, is measured by `bench/connector.py` (see the README).

Routing spreads the load (`pick`): a member routed to in the last week counts for
less (RECENT_DISCOUNT per routed DM), at most ROUTES_PER_WEEK routed DMs a week, and
ties go to whoever was routed to least recently.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot import terms
from bot.copy import snippet
from bot.messages import Mention, Span, UserText
from bot.ports import ConnectorMember, SimilarAsk, UnitOfWork

SIMILAR = 30  # past asks that vote
COMMON = 0.05  # words in more of all asks than this are left out of the search,
COMMON_MIN = 20  # once they are in more asks than this
GAVE = 1.0
OFFERED = 0.4
HALF_LIFE = timedelta(days=180)
INTEREST = 0.6
INTEREST_ROWS = 500  # interest matches read per search, least recently routed first
RECENT = timedelta(days=7)
ROUTES_PER_WEEK = 3
RECENT_DISCOUNT = 0.7
WHO_LIMIT = 5
_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Evidence:
    """The strongest single piece of a member's history for a text."""

    ask: SimilarAsk
    gave: bool
    weight: float


@dataclass
class Candidate:
    member_id: str
    score: float = 0.0
    best: Evidence | None = None
    topics: list[str] = field(default_factory=list)  # declared interests that match


def decay(age: timedelta) -> float:
    return float(0.5 ** (max(age, timedelta(0)) / HALF_LIFE))


async def candidates(
    uow: UnitOfWork,
    community_id: str,
    text: str,
    *,
    now: datetime,
    before: datetime | None = None,
    exclude: Collection[str] = (),
) -> list[Candidate]:
    """Every member with some evidence for `text`, best first, consent not checked.
    Only history up to `before` (default `now`) counts."""
    words = terms.words(text)
    if not words:
        return []
    found: dict[str, Candidate] = {}
    similar = await uow.connector.similar_asks(
        community_id,
        words,
        before=before or now,
        limit=SIMILAR,
        common=COMMON,
        common_min=COMMON_MIN,
    )
    for ask in similar:
        for helped in ask.helped:
            if helped.member_id in exclude or helped.member_id == ask.asker_id:
                continue
            kind = GAVE if helped.gave else OFFERED
            weight = ask.similarity * kind * decay(now - helped.at)
            candidate = found.setdefault(helped.member_id, Candidate(helped.member_id))
            candidate.score += weight
            if candidate.best is None or weight > candidate.best.weight:
                candidate.best = Evidence(ask, helped.gave, weight)
    text_stems = set(terms.stems(text))
    shares: dict[str, float] = {}  # members list the same topics: each is matched once
    for member_id, topic in await uow.connector.interested(
        community_id, sorted(text_stems), INTEREST_ROWS
    ):
        if member_id in exclude:
            continue
        share = shares.get(topic)
        if share is None:
            share = shares[topic] = topic_match(topic, text_stems)
        if share > 0:
            candidate = found.setdefault(member_id, Candidate(member_id))
            if topic not in candidate.topics:
                candidate.topics.append(topic)
                candidate.score += INTEREST * share
    return sorted(found.values(), key=lambda c: (-c.score, c.member_id))


def topic_match(topic: str, text_stems: Collection[str]) -> float:
    """The share of a topic's words that appear in a text (by stem)."""
    stems = terms.stems(topic)
    if not stems:
        return 0.0
    return sum(stem in text_stems for stem in stems) / len(stems)


async def pick(
    uow: UnitOfWork,
    community_id: str,
    text: str,
    *,
    now: datetime,
    count: int,
    exclude: Collection[str] = (),
) -> list[Candidate]:
    """Up to `count` opted-in members to route `text` to, load spread: under the
    weekly cap, discounted for recent routed DMs, least recently routed first on ties."""
    found = await candidates(uow, community_id, text, now=now, exclude=exclude)
    standing = await uow.connector.standing(
        community_id, [c.member_id for c in found], now - RECENT
    )

    def eligible(c: Candidate) -> ConnectorMember | None:
        known = standing.get(c.member_id)
        if known is None or not known.opted_in or known.routed_since >= ROUTES_PER_WEEK:
            return None
        return known

    ranked = []
    for candidate in found:
        known = eligible(candidate)
        if known is not None:
            adjusted = candidate.score * RECENT_DISCOUNT**known.routed_since
            last = known.last_routed_at or _NEVER
            ranked.append((-adjusted, last, candidate.member_id, candidate))
    ranked.sort(key=lambda row: row[:3])
    return [row[3] for row in ranked[:count]]


async def who_knows(
    uow: UnitOfWork, community_id: str, text: str, *, now: datetime, caller: str
) -> list[Candidate]:
    """`/payforward who`: the best opted-in matches for `text`, never the caller."""
    found = await candidates(uow, community_id, text, now=now, exclude={caller})
    ids = [c.member_id for c in found]
    standing = await uow.connector.standing(community_id, ids, now - RECENT)
    opted_in = [c for c in found if (s := standing.get(c.member_id)) is not None and s.opted_in]
    return opted_in[:WHO_LIMIT]


def reason(candidate: Candidate, *, you: bool) -> tuple[Span, ...]:
    """Why this member, from their strongest piece of history and their matching
    interests: "you helped @bob with “…” and you listed *python*" (`you`), or
    "helped @bob with “…”; lists *python*" about someone else."""
    parts: list[tuple[Span, ...]] = []
    best = candidate.best
    if best is not None:
        did = "helped" if best.gave else "offered to help"
        quoted = snippet(best.ask.text, 80)
        parts.append(
            (f"{'you ' if you else ''}{did} ", Mention(best.ask.asker_id), " with “", quoted, "”")
        )
    if candidate.topics:
        listed: list[Span] = [f"{'you listed' if you else 'lists'} "]
        for i, topic in enumerate(candidate.topics[:3]):
            listed += [" and *" if i else "*", UserText(topic), "*"]
        parts.append(tuple(listed))
    joined: list[Span] = []
    for i, part in enumerate(parts):
        if i:
            joined.append(" and " if you else "; ")
        joined.extend(part)
    return tuple(joined)


# For pairing members on topics (cups): the same evidence, between two members.


async def affinity(
    uow: UnitOfWork, community_id: str, helper_id: str, asker_id: str, *, now: datetime
) -> float:
    """How well `helper_id`'s help history and interests match what `asker_id` asked
    about (their last ASKS_FOR_AFFINITY asks): 0 when nothing does, and consent is
    not checked. Symmetric uses add both directions."""
    asks = (await uow.asks.by_asker(community_id, asker_id))[-ASKS_FOR_AFFINITY:]
    total = 0.0
    for ask in asks:
        found = await candidates(uow, community_id, ask.text, now=now, exclude={asker_id})
        total += sum(c.score for c in found if c.member_id == helper_id)
    return total


ASKS_FOR_AFFINITY = 10


async def topics_of(uow: UnitOfWork, community_id: str, member_id: str) -> Sequence[str]:
    """The topics a member declared (`/payforward interests`)."""
    return await uow.connector.interests(community_id, member_id)
