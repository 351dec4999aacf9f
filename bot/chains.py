"""Pay-it-forward chains: A helped B, and later B helped C (C ≠ A).

Each confirmed give records the give it paid forward (bot/ledger.py); a chain of the
week is read back from a give confirmed that week along those links, never visiting
a member twice, up to `MAX_LINKS` links.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain import GiveFact

MAX_LINKS = 5


@dataclass(frozen=True)
class Chain:
    members: tuple[str, ...]  # in the order help flowed: A, B, C, …
    ended_at: datetime


def chain_from(path: Sequence[GiveFact]) -> Chain | None:
    """The chain a path of linked gives (oldest first) shows, or None if it is no chain."""
    if not path:
        return None
    last = path[-1]
    members = [last.giver_id, last.receiver_id]
    for link, later in zip(reversed(path[:-1]), reversed(path[1:]), strict=True):
        if link.receiver_id != later.giver_id or link.giver_id in members:
            break
        members.insert(0, link.giver_id)
    if len(members) < 3 or len(set(members)) != len(members):
        return None
    return Chain(tuple(members), last.at)


def chains_of_week(
    paths: Iterable[Sequence[GiveFact]],
    exclude: frozenset[str] | set[str] = frozenset(),
    limit: int = 5,
) -> list[Chain]:
    """The longest distinct chains, longest first; chains through `exclude`d members
    are not shown, and a chain inside a longer one shown is not repeated."""
    found = [c for c in map(chain_from, paths) if c and not exclude.intersection(c.members)]
    found.sort(key=lambda c: (-len(c.members), c.ended_at, c.members))
    shown: list[Chain] = []
    for chain in found:
        if not any(_inside(chain.members, other.members) for other in shown):
            shown.append(chain)
        if len(shown) == limit:
            break
    return shown


def _inside(small: tuple[str, ...], big: tuple[str, ...]) -> bool:
    size = len(small)
    return any(big[i : i + size] == small for i in range(len(big) - size + 1))
