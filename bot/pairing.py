"""The cups matcher: who meets whom in a round. Pure, and deterministic under a seed.

Its rules, strongest first:
1. **No repeats.** Two members who were in a cup together in the last REPEAT_ROUNDS
   rounds are never paired again (a group of three counts as its three pairs). This
   is never traded for anything: a member with nobody new left sits the round out.
2. **Topics.** Prefer pairs where one asked about something the other helped with (a
   confirmed give or an offer on an ask like it) or lists as an interest. Scored the
   way bot/connector.py scores a helper for a text, with its weights: the asker's
   latest asks are compared with the asks the other helped on, and each help votes
   its similarity × GAVE (or OFFERED) × the help's age decay; each declared interest
   whose words appear in an ask adds INTEREST × the share that does. A member can be in
   one cup a round, so a helper's help votes are divided by √(1 + all their help's
   weight) when each asker's PARTNERS best partners are chosen, as routing spreads its
   load: the list then holds the specialists who fit, not only the community's
   busiest helpers, and more askers get a topic partner (`bench/cups.py`: a quarter of
   the cups instead of a sixth, at 10,000 members). The pairs' scores are not spread.
3. **Upside-down mentoring.** When the helper was first seen NEWER_BY or more after the
   asker (a newer member who helped on what a longer-standing one asked about), the
   pair counts UPSIDE_DOWN times more, and the intro says so.
4. Everyone else is paired at random (the injected `random.Random`); an odd member out
   joins one pair as a group of three.

Why not `connector.affinity` for every pair: it runs a full-text search per ask, so a
round of 10,000 members would need tens of thousands of searches (about 12 ms each on
SQLite, `bench/connector.py`), and then a score for every pair. The round reads once
instead (`CupsProfiles`: each member's latest asks, latest help and interests) and
compares Snowball stems (bot/terms.py, the stems the connector searches with): the
stems in more than the connector's COMMON share of the asks read are left out, the
others weighted by rarity, and an ask's similarity to a helped ask is the cosine of
their weighted stems (1 for the same ask), in place of the database's rank. Only each
asker's PARTNERS best partners are kept, so the pairing sorts a few edges per
member, not every pair; pairs are then taken greedily, best score first.
`bench/cups.py` measures it against a random pairing.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot import terms
from bot.connector import COMMON, COMMON_MIN, GAVE, INTEREST, OFFERED, SIMILAR, decay
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
    """A possible pair with a topic in common: how strongly (both ways summed), and the
    stronger way round (`helper_id` can help `asker_id`), upside-down or not."""

    score: float
    asker_id: str
    helper_id: str
    upside_down: bool = False


@dataclass(frozen=True)
class Group:
    """The members of one cup (two, or three for the odd member out), and the topic
    edge between two of them, if any (`Topics.reason` says it in words)."""

    members: tuple[str, ...]
    edge: Edge | None = None


def recent_pairs(groups: Iterable[Sequence[str]]) -> set[Pair]:
    """Every pair of members who were in a cup together."""
    return {
        pair_key(a, b)
        for members in groups
        for i, a in enumerate(members)
        for b in members[i + 1 :]
    }


class _Stems:
    """The asks' stems that say what they are about, weighted: not in more than the
    connector's COMMON share of the asks read (once in more than COMMON_MIN of them),
    each weighted by how rare it is (log N / n), as a full-text ranking would."""

    def __init__(self, profiles: CupsProfiles) -> None:
        texts = {a.ask_id: a.text for a in profiles.asked}
        texts.update((h.ask.ask_id, h.ask.text) for h in profiles.helped)
        found = {ask_id: frozenset(terms.stems(text)) for ask_id, text in texts.items()}
        frequency = Counter(stem for stems in found.values() for stem in stems)
        ceiling = max(COMMON * len(texts), COMMON_MIN)
        self.rare = {
            ask_id: frozenset(s for s in stems if frequency[s] <= ceiling)
            for ask_id, stems in found.items()
        }
        self.weight = {s: math.log((1 + len(texts)) / n) for s, n in frequency.items()}
        self.norm = {
            ask_id: math.sqrt(sum(self.weight[s] ** 2 for s in stems)) or 1.0
            for ask_id, stems in self.rare.items()
        }

    def similarity(self, one: int, other: int) -> float:
        """The two asks' rare stems in common, as a cosine of their weights (1: the same)."""
        shared = self.rare[one] & self.rare[other]
        return sum(self.weight[s] ** 2 for s in shared) / (self.norm[one] * self.norm[other])


def rare_stems(profiles: CupsProfiles) -> dict[int, frozenset[str]]:
    """Each ask's stems that say what it is about (see _Stems)."""
    return _Stems(profiles).rare


Listed = tuple[str, str, frozenset[str]]  # (member id, topic, its stems)


class Topics:
    """The topic edges of a round, and the reason behind each, from one bulk read.

    A helper's vote for an asker is, over the asker's asks X and the helper's help on
    asks Y, Σ weight(Y) × similarity(X, Y), plus INTEREST × the share of each listed
    topic's words in X. The similarity is a cosine over rare stems, so the sum splits
    per stem: each helper gets one weight per stem up front, and an asker's votes are
    a walk over their asks' stems. Each stem keeps its SIMILAR strongest helpers, as
    the connector lets the SIMILAR most similar asks vote. Reasons are worked out only
    for the edges that become cups (`reason`)."""

    def __init__(self, profiles: CupsProfiles, now: datetime) -> None:
        self._first_seen = profiles.first_seen
        eligible = profiles.first_seen
        self._stems = stems = _Stems(profiles)
        self._terms = {  # each ask's rare stems, with their share of its weight
            ask_id: [(stem, stems.weight[stem] / stems.norm[ask_id]) for stem in found]
            for ask_id, found in stems.rare.items()
        }
        self._helps = [
            (h, (GAVE if h.gave else OFFERED) * decay(now - h.at))
            for h in profiles.helped
            if h.member_id in eligible
            and h.member_id != h.ask.asker_id
            and stems.rare[h.ask.ask_id]
        ]
        knows: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self._helped_on: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for index, (help, weight) in enumerate(self._helps):
            ask_id = help.ask.ask_id
            for stem, share in self._terms[ask_id]:
                knows[stem][help.member_id] += weight * share
                self._helped_on[help.member_id][stem].append(index)
        mass: dict[str, float] = defaultdict(float)
        for helpers in knows.values():
            for member_id, value in helpers.items():
                mass[member_id] += value
        self._spread = spread = {m: 1 / math.sqrt(1 + value) for m, value in mass.items()}
        self._knows = {  # what votes: the SIMILAR strongest helpers of each stem, spread
            stem: [
                (m, value * spread[m])
                for m, value in heapq.nlargest(
                    SIMILAR, helpers.items(), key=lambda kv: (kv[1], kv[0])
                )
            ]
            for stem, helpers in knows.items()
        }
        listing: dict[str, list[Listed]] = defaultdict(list)
        for member_id, topic, topic_stems in profiles.interests:
            if member_id in eligible and topic_stems:
                for stem in set(topic_stems):
                    listing[stem].append((member_id, topic, frozenset(topic_stems)))
        # Members who list a word all count the same for it: SIMILAR of them are
        # enough, the least busy helpers first (a busy one has help to be paired on).
        self._listing = {
            stem: sorted(listed, key=lambda t: (-self._spread.get(t[0], 1.0), t[0]))[:SIMILAR]
            for stem, listed in listing.items()
        }
        self._asks: dict[str, list[TopicAsk]] = defaultdict(list)
        for ask in profiles.asked:
            if ask.asker_id in eligible and stems.rare[ask.ask_id]:
                self._asks[ask.asker_id].append(ask)
        self.edges = self._edges()

    def _edges(self) -> dict[Pair, Edge]:
        edges: dict[Pair, Edge] = {}
        for asker in sorted(self._asks):
            votes, listed = self._votes(asker)
            for helper in heapq.nlargest(PARTNERS, votes, key=votes.__getitem__):
                topics = listed.get(helper, 0.0)
                helped = (votes[helper] - topics) / self._spread.get(helper, 1.0)
                score = helped + topics
                upside_down = helped > 0 and self._newer(helper, asker)
                if upside_down:
                    score *= UPSIDE_DOWN
                key = pair_key(asker, helper)
                known = edges.get(key)
                if known is None:
                    edges[key] = Edge(score, asker, helper, upside_down)
                elif score > known.score:  # the stronger way round explains the pair
                    edges[key] = Edge(known.score + score, asker, helper, upside_down)
                else:
                    edges[key] = replace(known, score=known.score + score)
        return edges

    def _votes(self, asker: str) -> tuple[dict[str, float], dict[str, float]]:
        """Each member's vote for the asker, their help spread over busy helpers (each
        helper's part divided by the same spread), and the part their listed topics."""
        weights: dict[str, float] = defaultdict(float)  # stem → its weight in the asks
        for ask in self._asks[asker]:
            for stem, weight in self._terms[ask.ask_id]:
                weights[stem] += weight
        votes: dict[str, float] = {}
        vote, knows = votes.get, self._knows
        for stem, weight in weights.items():
            for helper, knowing in knows.get(stem, ()):
                votes[helper] = vote(helper, 0.0) + weight * knowing
        listed: dict[str, float] = defaultdict(float)
        for _ask, member_id, _topic, share in self._topics(asker):
            listed[member_id] += INTEREST * share
        for member_id, part in listed.items():
            votes[member_id] = vote(member_id, 0.0) + part
        votes.pop(asker, None)
        return votes, listed

    def _topics(self, asker: str) -> Iterator[tuple[TopicAsk, str, str, float]]:
        """(ask, member, topic, share of the topic's words in the ask) for each listed
        topic with a word in one of the asker's asks, once per topic and ask."""
        for ask in self._asks[asker]:
            found = self._stems.rare[ask.ask_id]
            seen: set[tuple[str, str]] = set()
            for stem in found:
                for member_id, topic, topic_stems in self._listing.get(stem, ()):
                    if member_id != asker and (member_id, topic) not in seen:
                        seen.add((member_id, topic))
                        yield ask, member_id, topic, len(topic_stems & found) / len(topic_stems)

    def _newer(self, helper: str, asker: str) -> bool:
        """The helper was first seen NEWER_BY or more after the asker."""
        later, earlier = self._first_seen.get(helper), self._first_seen.get(asker)
        return later is not None and earlier is not None and later - earlier >= NEWER_BY

    def reason(self, edge: Edge) -> Reason:
        """The strongest single piece behind an edge: the helper's help on an ask like
        one of the asker's, or a topic they list."""
        asker, helper = edge.asker_id, edge.helper_id
        best: tuple[float, Reason] | None = None
        for ask, member_id, topic, share in self._topics(asker):
            if member_id == helper and (best is None or INTEREST * share > best[0]):
                best = (INTEREST * share, Reason(asker, ask, helper, topic=topic))
        theirs = self._helped_on.get(helper, {})
        for ask in self._asks[asker]:
            near = {i for stem in self._stems.rare[ask.ask_id] for i in theirs.get(stem, ())}
            for index in sorted(near):
                help, weight = self._helps[index]
                value = weight * self._stems.similarity(ask.ask_id, help.ask.ask_id)
                if best is None or value > best[0]:
                    best = (value, Reason(asker, ask, helper, help))
        if best is None:
            raise ValueError(f"no topic between {asker} and {helper}")
        return replace(best[1], upside_down=edge.upside_down and best[1].helped is not None)


def topic_edges(profiles: CupsProfiles, now: datetime) -> dict[Pair, Edge]:
    """The round's topic edges (see Topics)."""
    return Topics(profiles, now).edges


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
            edge = edges[(a, b)]
            groups.append(Group((edge.asker_id, edge.helper_id), edge))

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
    """A group, with the strongest topic edge between any two of its members."""
    found = [
        edges[key]
        for i, a in enumerate(members)
        for b in members[i + 1 :]
        if (key := pair_key(a, b)) in edges
    ]
    return Group(members, max(found, key=lambda e: e.score, default=None))


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
                if len(group.members) != 2 or group.edge is not None:
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
    groups[i] = Group(joined.members, chosen.edge or joined.edge)
