"""The weekly table: who helped, who helped with no return expected, and how often.

Only confirmed member-to-member gives count, never self-gives, and at most
`PAIR_CAP_PER_WEEK` gives per giver→receiver pair a week, so that help is celebrated
and point-farming is not. Offers alone never score.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from math import ceil

from bot.domain import PAIR_CAP_PER_WEEK, PairWeek

SPARK_LEVELS = "▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Standing:
    member_id: str
    helped: int  # distinct people helped
    forward: int  # gives to people who had never given to this member before
    gives: int  # confirmed gives, after the pair cap
    rank: int


def counted(pair: PairWeek) -> tuple[int, int]:
    """(gives, forward gives) of a pair that score this week.

    Forward gives always come first within a pair (once the receiver has given back,
    no later give to them is forward), so the capped gives hold
    min(forward, cap) of them."""
    if pair.giver_id == pair.receiver_id:
        return 0, 0
    gives = min(pair.gives, PAIR_CAP_PER_WEEK)
    return gives, min(pair.forward, gives)


def weekly_table(
    pairs: Iterable[PairWeek], hidden: frozenset[str] | set[str] = frozenset()
) -> list[Standing]:
    """Every scoring member, best first, with shared competition ranks (1, 1, 3).

    `hidden` members (leaderboard opt-outs) are left out of the table; the people
    they helped are unaffected, since a give scores for its giver only."""
    helped: Counter[str] = Counter()
    forward: Counter[str] = Counter()
    gives: Counter[str] = Counter()
    for pair in pairs:
        n, fwd = counted(pair)
        if n:
            helped[pair.giver_id] += 1
            gives[pair.giver_id] += n
            forward[pair.giver_id] += fwd
    keys = sorted(
        (m for m in gives if m not in hidden),
        key=lambda m: (-helped[m], -forward[m], -gives[m], m),
    )
    table: list[Standing] = []
    for position, member in enumerate(keys, start=1):
        triple = (helped[member], forward[member], gives[member])
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
