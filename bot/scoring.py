"""The weekly table: who helped, who helped with no return expected, and how often.

Only confirmed member-to-member gives count, never self-gives, and at most
`PAIR_CAP_PER_WEEK` gives per giver→receiver pair a week, so that help is celebrated
and point-farming is not. Offers alone never score.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from math import ceil

from bot.domain import PAIR_CAP_PER_WEEK, GiveFact

SPARK_LEVELS = "▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Standing:
    member_id: str
    helped: int  # distinct people helped
    forward: int  # gives to people who had never given to this member before
    gives: int  # confirmed gives, after the pair cap
    rank: int


def counted(facts: Iterable[GiveFact]) -> list[GiveFact]:
    """The week's gives that score: no self-gives, the first few per pair, in time order."""
    per_pair: Counter[tuple[str, str]] = Counter()
    kept: list[GiveFact] = []
    for fact in sorted(facts, key=lambda f: f.at):
        pair = (fact.giver_id, fact.receiver_id)
        if fact.giver_id == fact.receiver_id or per_pair[pair] >= PAIR_CAP_PER_WEEK:
            continue
        per_pair[pair] += 1
        kept.append(fact)
    return kept


def is_forward(fact: GiveFact, first_reverse: Mapping[tuple[str, str], datetime]) -> bool:
    """Help with no return expected: the receiver had never given to the giver before."""
    earliest_return = first_reverse.get((fact.giver_id, fact.receiver_id))
    return earliest_return is None or earliest_return >= fact.at


def weekly_table(
    facts: Iterable[GiveFact],
    first_reverse: Mapping[tuple[str, str], datetime],
    hidden: frozenset[str] | set[str] = frozenset(),
) -> list[Standing]:
    """Every scoring member, best first, with shared competition ranks (1, 1, 3).

    `hidden` members (leaderboard opt-outs) are left out of the table; their gives still
    counted for the people they helped because scoring is per giver."""
    helped: defaultdict[str, set[str]] = defaultdict(set)
    forward: Counter[str] = Counter()
    gives: Counter[str] = Counter()
    for fact in counted(facts):
        helped[fact.giver_id].add(fact.receiver_id)
        gives[fact.giver_id] += 1
        if is_forward(fact, first_reverse):
            forward[fact.giver_id] += 1
    keys = sorted(
        (m for m in gives if m not in hidden),
        key=lambda m: (-len(helped[m]), -forward[m], -gives[m], m),
    )
    table: list[Standing] = []
    for position, member in enumerate(keys, start=1):
        triple = (len(helped[member]), forward[member], gives[member])
        previous = table[-1] if table else None
        same = previous and (previous.helped, previous.forward, previous.gives) == triple
        rank = previous.rank if previous and same else position
        table.append(Standing(member, *triple, rank=rank))
    return table


def sparkline(counts: list[int]) -> str:
    """One bar per week; an empty week is the lowest bar, any help at least the next."""
    top = max(counts, default=0)
    if top == 0:
        return "▁" * len(counts)
    levels = len(SPARK_LEVELS)
    return "".join("▁" if c == 0 else SPARK_LEVELS[ceil(c * levels / top) - 1] for c in counts)
