"""The weekly table: who helped, who helped with no return expected, and how often.

Only confirmed member-to-member gives count, never self-gives, and at most
`PAIR_CAP_PER_WEEK` gives per giver→receiver pair a week, so that help is celebrated
and point-farming is not. Offers alone never score.
"""

from __future__ import annotations

from collections.abc import Iterable
from math import ceil
from typing import NamedTuple

from bot.domain import PAIR_CAP_PER_WEEK, PairWeek

SPARK_LEVELS = "▂▃▄▅▆▇█"


class Standing(NamedTuple):
    """A member's row of the table (a tuple: the table of a big community has many)."""

    member_id: str
    helped: int  # distinct people helped
    forward: int  # gives to people who had never given to this member before
    gives: int  # confirmed gives, after the pair cap
    rank: int


def weekly_table(
    pairs: Iterable[PairWeek], hidden: frozenset[str] | set[str] = frozenset()
) -> list[Standing]:
    """Every scoring member, best first, with shared competition ranks (1, 1, 3).

    A pair scores at most the cap of its gives. Forward gives always come first
    within a pair (once the receiver has given back, no later give to them is
    forward), so the capped gives hold min(forward, cap) of them.

    `hidden` members (leaderboard opt-outs) are left out of the table; the people
    they helped are unaffected, since a give scores for its giver only."""
    totals: dict[str, list[int]] = {}  # member → [helped, forward, gives]
    cap = PAIR_CAP_PER_WEEK
    for giver, receiver, given, forwarded in pairs:  # a big week has ~20,000 pairs
        if giver == receiver or not given:
            continue
        gives = given if given < cap else cap
        forward = forwarded if forwarded < gives else gives
        row = totals.get(giver)
        if row is None:
            totals[giver] = [1, forward, gives]
        else:
            row[0] += 1
            row[1] += forward
            row[2] += gives
    # By member id, then (stably) by score: equal scores stay in member id order. Two
    # sorts with C-level keys beat one over (score, member id) tuples, whose ties
    # (most members give once) all fall through to comparing strings.
    order = sorted(member for member in totals if member not in hidden)
    order.sort(key=totals.__getitem__, reverse=True)
    table: list[Standing] = []
    previous: list[int] | None = None
    rank = 0
    for position, member in enumerate(order, start=1):
        helped, forward, gives = score = totals[member]
        if score != previous:
            rank, previous = position, score
        table.append(Standing(member, helped, forward, gives, rank))
    return table


def sparkline(counts: list[int]) -> str:
    """One bar per week; an empty week is the lowest bar, any help at least the next."""
    top = max(counts, default=0)
    if top == 0:
        return "▁" * len(counts)
    levels = len(SPARK_LEVELS)
    return "".join("▁" if c == 0 else SPARK_LEVELS[ceil(c * levels / top) - 1] for c in counts)
