"""Pay-it-forward chains: A helped B, and later B helped C (C ≠ A).

A chain of the week ends with a give confirmed that week; it is walked back through
the most recent help each member had received before they helped, never visiting a
member twice, up to `MAX_LINKS` links.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.domain import GiveFact

MAX_LINKS = 5


@dataclass(frozen=True)
class Chain:
    members: tuple[str, ...]  # in the order help flowed: A, B, C, …
    ended_at: datetime


def chains_of_week(
    week: Iterable[GiveFact],
    earlier: Iterable[GiveFact],
    exclude: frozenset[str] | set[str] = frozenset(),
    limit: int = 5,
) -> list[Chain]:
    """The longest distinct chains ending with one of `week`'s gives, longest first.

    `earlier` holds the gives that may be first links (see GiveRepository.feeding);
    chains through an `exclude`d member are not shown."""
    received: defaultdict[str, list[GiveFact]] = defaultdict(list)
    week_list = [f for f in week if f.giver_id != f.receiver_id]
    for fact in {*week_list, *earlier}:
        if fact.giver_id != fact.receiver_id:
            received[fact.receiver_id].append(fact)
    for facts in received.values():
        facts.sort(key=lambda f: f.at)
    found: list[Chain] = []
    for last in week_list:
        members = _walk_back(last, received)
        if len(members) >= 3 and not exclude.intersection(members):
            found.append(Chain(tuple(members), last.at))
    found.sort(key=lambda c: (-len(c.members), c.ended_at, c.members))
    shown: list[Chain] = []
    for chain in found:
        if not any(_inside(chain.members, other.members) for other in shown):
            shown.append(chain)
        if len(shown) == limit:
            break
    return shown


def _walk_back(last: GiveFact, received: dict[str, list[GiveFact]]) -> list[str]:
    members = [last.giver_id, last.receiver_id]
    link, seen = last, {last.giver_id, last.receiver_id}
    while len(members) <= MAX_LINKS:
        before = received.get(link.giver_id, [])
        cut = bisect_left([f.at for f in before], link.at)
        previous = next((f for f in reversed(before[:cut]) if f.giver_id not in seen), None)
        if previous is None:
            break
        members.insert(0, previous.giver_id)
        seen.add(previous.giver_id)
        link = previous
    return members


def _inside(small: tuple[str, ...], big: tuple[str, ...]) -> bool:
    size = len(small)
    return any(big[i : i + size] == small for i in range(len(big) - size + 1))
