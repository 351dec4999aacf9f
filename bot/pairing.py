"""The cups matcher: who meets whom in a round. Pure, and deterministic under a seed.

Its rules, strongest first:
1. **No repeats.** Two members who were in a cup together in the last REPEAT_ROUNDS
   rounds are never paired again (a group of three counts as its three pairs). This
   is never traded for anything: a member with nobody new left sits the round out.
2. **Topics.** Prefer pairs where one asked about something the other helped with (a
   confirmed give or an offer on an ask like it) or lists as an interest. Scored the
   way bot/connector.py scores a helper for a text, with its weights: each of the
   asker's latest asks is compared with the asks the other helped on, and each one
   votes its similarity × GAVE (or OFFERED) × the help's age decay; each declared
   interest whose words appear in the ask adds INTEREST × the share that does.
3. **Upside-down mentoring.** When the helper was first seen NEWER_BY or more after the
   asker (a newer member who helped on what a longer-standing one asked about), the
   pair counts UPSIDE_DOWN times more, and the intro says so.
4. Everyone else is paired at random (the injected `random.Random`); an odd member out
   joins one pair as a group of three.

Why not `connector.affinity` for every pair: it runs a full-text search per ask, so a
round of 10,000 members would need tens of thousands of searches (about 12 ms each on
SQLite, `bench/connector.py`). The round reads once instead (`CupsProfiles`: each
member's latest asks, latest help and interests) and compares Snowball stems
(bot/terms.py, the stems the connector searches with), leaving out the stems found in
more than the connector's COMMON share of the asks read; an ask's similarity to a
helped ask is the share of their rare stems they have in common (1 for the same ask).
Only each asker's PARTNERS best partners are kept, so the pairing sorts a few edges
per member, not every pair. Pairs are then taken greedily, best score first, which
is what `bench/cups.py` measures against a random pairing.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot import terms
from bot.connector import COMMON, COMMON_MIN, GAVE, INTEREST, OFFERED, decay
from bot.ports import CupsProfiles, HelpedOn, TopicAsk

REPEAT_ROUNDS = 6  # no pair meets again within this many rounds
ASKED = 5  # each member's latest asks that say what they want to talk about
HELPS = 30  # each member's latest help that says what they know
WINDOW = timedelta(days=365)  # asks and help older than this are not read
PARTNERS = 8  # best topic partners kept per asker
NEWER_BY = timedelta(days=30)  # "newer": first seen at least this much later
UPSIDE_DOWN = 1.5
FILL_TRIES = 20  # random draws for the members without a topic pair, fewest left wins

Pair = tuple[str, str]  # two member ids, in order
Allowed = Callable[[str, str], bool]  # whether two members may be paired this round


def pair_key(a: str, b: str) -> Pair:
    return (a, b) if a < b else (b, a)


@dataclass(frozen=True)
class Reason:
    """Why two members meet: `asker_id` asked `ask`, and `helper_id` helped on an ask
    like it (`helped`) or lists `topic`. `upside_down`: the helper is the newer one."""

    asker_id: str
    ask: TopicAsk
    helper_id: str
    helped: HelpedOn | None = None
    topic: str | None = None
    upside_down: bool = False


@dataclass(frozen=True)
class Edge:
    """A possible pair with a topic in common, how strongly, and its best reason."""

    score: float
    reason: Reason


@dataclass(frozen=True)
class Group:
    """The members of one cup (two, or three for the odd member out)."""

    members: tuple[str, ...]
    reason: Reason | None = None  # None: nothing in common that the bot knows of


def recent_pairs(groups: Iterable[Sequence[str]]) -> set[Pair]:
    """Every pair of members who were in a cup together."""
    return {
        pair_key(a, b)
        for members in groups
        for i, a in enumerate(members)
        for b in members[i + 1 :]
    }


class _Votes:
    """One asker's candidates: summed scores and the strongest single reason each."""

    def __init__(self) -> None:
        self.score: dict[str, float] = defaultdict(float)
        self.best: dict[str, tuple[float, Reason]] = {}

    def add(self, member_id: str, weight: float, reason: Reason) -> None:
        self.score[member_id] += weight
        known = self.best.get(member_id)
        if known is None or weight > known[0]:
            self.best[member_id] = (weight, reason)


def topic_edges(profiles: CupsProfiles, now: datetime) -> dict[Pair, Edge]:
    """The pairs of eligible members with a topic in common, scored both ways."""
    eligible = profiles.first_seen
    texts = {a.ask_id: a.text for a in profiles.asked}
    texts.update((h.ask.ask_id, h.ask.text) for h in profiles.helped)
    stems = {ask_id: frozenset(terms.stems(text)) for ask_id, text in texts.items()}
    frequency = Counter(stem for found in stems.values() for stem in found)
    ceiling = max(COMMON * len(texts), COMMON_MIN)
    rare = {
        ask_id: frozenset(s for s in found if frequency[s] <= ceiling)
        for ask_id, found in stems.items()
    }

    helps: list[tuple[HelpedOn, int, float]] = []  # (help, its ask's rare stems, weight)
    helping: dict[str, list[int]] = defaultdict(list)  # stem → indexes into `helps`
    for help in profiles.helped:
        found = rare[help.ask.ask_id]
        if help.member_id not in eligible or help.member_id == help.ask.asker_id or not found:
            continue
        weight = (GAVE if help.gave else OFFERED) * decay(now - help.at)
        for stem in found:
            helping[stem].append(len(helps))
        helps.append((help, len(found), weight))
    listing: dict[str, list[tuple[str, str, frozenset[str]]]] = defaultdict(list)
    for member_id, topic, topic_stems in profiles.interests:
        if member_id in eligible and topic_stems:
            for stem in set(topic_stems):
                listing[stem].append((member_id, topic, frozenset(topic_stems)))

    by_asker: dict[str, list[TopicAsk]] = defaultdict(list)
    for ask in profiles.asked:
        if ask.asker_id in eligible:
            by_asker[ask.asker_id].append(ask)
    scored: dict[Pair, tuple[float, float, Reason]] = {}  # (total, reason's weight, reason)
    for asker in sorted(by_asker):
        votes = _Votes()
        for ask in by_asker[asker]:
            _vote(votes, asker, ask, rare[ask.ask_id], helps, helping, listing)
        top = heapq.nlargest(PARTNERS, votes.score.items(), key=lambda kv: (kv[1], kv[0]))
        for helper, score in top:
            weight, reason = votes.best[helper]
            if _upside_down(reason, eligible):
                score, weight = score * UPSIDE_DOWN, weight * UPSIDE_DOWN
                reason = replace(reason, upside_down=True)
            key = pair_key(asker, helper)
            total, strongest, shown = scored.get(key, (0.0, 0.0, reason))
            if weight > strongest:
                strongest, shown = weight, reason
            scored[key] = (total + score, strongest, shown)
    return {key: Edge(total, reason) for key, (total, _, reason) in scored.items()}


def _vote(
    votes: _Votes,
    asker: str,
    ask: TopicAsk,
    found: frozenset[str],
    helps: list[tuple[HelpedOn, int, float]],
    helping: dict[str, list[int]],
    listing: dict[str, list[tuple[str, str, frozenset[str]]]],
) -> None:
    """What one ask of `asker` says about each other member."""
    if not found:
        return
    shared: Counter[int] = Counter()
    for stem in found:
        shared.update(helping.get(stem, ()))
    for index, common in shared.items():
        help, size, weight = helps[index]
        if help.member_id != asker:
            similarity = common / max(len(found), size)
            votes.add(help.member_id, similarity * weight, Reason(asker, ask, help.member_id, help))
    seen: set[tuple[str, str]] = set()
    for stem in found:
        for member_id, topic, topic_stems in listing.get(stem, ()):
            if member_id != asker and (member_id, topic) not in seen:
                seen.add((member_id, topic))
                share = len(topic_stems & found) / len(topic_stems)
                votes.add(member_id, INTEREST * share, Reason(asker, ask, member_id, topic=topic))


def _upside_down(reason: Reason, first_seen: dict[str, datetime | None]) -> bool:
    """The helper helped (not only listed a topic) and was first seen well after the asker."""
    helper, asker = first_seen.get(reason.helper_id), first_seen.get(reason.asker_id)
    if reason.helped is None or helper is None or asker is None:
        return False
    return helper - asker >= NEWER_BY


def pair(
    members: Collection[str],
    edges: dict[Pair, Edge],
    recent: Collection[Pair],
    rng: random.Random,
) -> list[Group]:
    """This round's groups: topic pairs best first, the rest at random, never a recent
    pair; an odd member out joins a pair as a group of three. Members left without a
    partner (everyone they could meet was met lately) sit the round out."""
    order = sorted(members)
    rng.shuffle(order)
    rank = {m: i for i, m in enumerate(order)}
    blocked = set(recent)
    free = set(order)
    groups: list[Group] = []

    def allowed(a: str, b: str) -> bool:
        return a != b and pair_key(a, b) not in blocked

    candidates = [
        (edge.score, key)
        for key, edge in edges.items()
        if edge.score > 0 and key[0] in free and key[1] in free and key not in blocked
    ]
    candidates.sort(key=lambda c: (-c[0], *sorted((rank[c[1][0]], rank[c[1][1]]))))
    for _, (a, b) in candidates:
        if a in free and b in free:
            free -= {a, b}
            reason = edges[(a, b)].reason
            groups.append(Group((reason.asker_id, reason.helper_id), reason))

    rest = [m for m in order if m in free]
    fill, left = _at_random(rest, allowed)
    for _ in range(FILL_TRIES - 1):  # a small community may need another draw
        if len(left) <= len(rest) % 2:
            break
        shuffled = rng.sample(rest, len(rest))
        tried, tried_left = _at_random(shuffled, allowed)
        if len(tried_left) < len(left):
            fill, left = tried, tried_left
    groups += [_group(members, edges) for members in fill]
    left = _swap_in(left, groups, edges, allowed)
    if left:
        _third(left[0], groups, edges, allowed)
    return groups


def _at_random(rest: list[str], allowed: Allowed) -> tuple[list[tuple[str, str]], list[str]]:
    """Each member in turn with the first later one they may meet: (pairs, left over)."""
    waiting = list(rest)
    pairs: list[tuple[str, str]] = []
    left: list[str] = []
    while waiting:
        member = waiting.pop(0)
        partner = next((other for other in waiting if allowed(member, other)), None)
        if partner is None:
            left.append(member)
            continue
        waiting.remove(partner)
        pairs.append((member, partner))
    return pairs, left


def _group(members: tuple[str, ...], edges: dict[Pair, Edge]) -> Group:
    """A group, with the best reason between any two of its members."""
    found = [
        edges[key]
        for i, a in enumerate(members)
        for b in members[i + 1 :]
        if (key := pair_key(a, b)) in edges
    ]
    best = max(found, key=lambda e: e.score, default=None)
    return Group(members, best.reason if best else None)


def _swap_in(
    left: list[str], groups: list[Group], edges: dict[Pair, Edge], allowed: Allowed
) -> list[str]:
    """Members left over two by two (everyone free had met them lately): two of them
    take the places of a random pair whose members each may meet one of them."""
    while len(left) >= 2:
        swapped = _swap(left, groups, edges, allowed)
        if swapped is None:
            return left
        left = [m for m in left if m not in swapped]
    return left


def _swap(
    left: list[str], groups: list[Group], edges: dict[Pair, Edge], allowed: Allowed
) -> tuple[str, str] | None:
    for i, m in enumerate(left):
        for n in left[i + 1 :]:
            for k, group in enumerate(groups):
                if len(group.members) != 2 or group.reason is not None:
                    continue  # topic pairs stay whole
                x, y = group.members
                for a, b in ((x, y), (y, x)):
                    if allowed(m, a) and allowed(n, b):
                        groups[k : k + 1] = [_group((m, a), edges), _group((n, b), edges)]
                        return m, n
    return None


def _third(member: str, groups: list[Group], edges: dict[Pair, Edge], allowed: Allowed) -> None:
    """The odd member out joins the pair they share the most with (the first such in
    the round's random order), if they met neither of its members lately."""

    def shared(group: Group) -> float:
        return sum(
            edge.score
            for other in group.members
            if (edge := edges.get(pair_key(member, other))) is not None
        )

    open_pairs = [
        (i, g) for i, g in enumerate(groups) if all(allowed(member, m) for m in g.members)
    ]
    if not open_pairs:
        return
    i, chosen = max(open_pairs, key=lambda found: (shared(found[1]), -found[0]))
    joined = _group((*chosen.members, member), edges)
    groups[i] = Group(joined.members, chosen.reason or joined.reason)
