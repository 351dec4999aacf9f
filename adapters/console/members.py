"""Who is in the console community.

The console has no user directory, so it makes one up as people appear: a member id is
the lowercased name, the display name is the name as first typed, and whoever came
first is the community admin (so a demo can try the admin commands without setup).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bot.events import MemberInfo

CONSOLE_COMMUNITY = "console:local"
CONSOLE_PLATFORM = "console"
CONSOLE_CHANNEL = "general"

# Letters, digits, `_` and `-`, with single dots inside: `@bob.` at the end of a
# sentence is bob, and `alice@example.com` is no mention at all (see transcript.py).
NAME_PATTERN = r"[\w-]+(?:\.[\w-]+)*"
_NAME = re.compile(NAME_PATTERN)


def member_id_of(name: str) -> str:
    """The console's member id for a typed name: `@Bob` and `bob` are the same person."""
    return name.removeprefix("@").lower()


def is_valid_name(name: str) -> bool:
    return _NAME.fullmatch(name.removeprefix("@")) is not None


class Roster:
    """The members met so far, in the order they first appeared."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}  # member id -> display name; insertion order

    def join(self, name: str) -> MemberInfo:
        """Register `name` if new and describe them; raises ValueError for a name that
        could never be mentioned back (spaces, punctuation)."""
        if not is_valid_name(name):
            raise ValueError(f"{name!r} is not a usable name: use letters, digits, _ . or -")
        member_id = member_id_of(name)
        self._names.setdefault(member_id, name.removeprefix("@"))
        return self.info(member_id)

    def find(self, name: str) -> str | None:
        """The member id for a typed name (`@bob`, `Bob`), if that member exists."""
        member_id = member_id_of(name)
        return member_id if member_id in self._names else None

    def info(self, member_id: str) -> MemberInfo:
        return MemberInfo(
            member_id=member_id,
            display_name=self._names.get(member_id),
            is_admin=next(iter(self._names), None) == member_id,
        )

    def name_of(self, member_id: str) -> str:
        """The display name, or the id itself for someone this console never met."""
        return self._names.get(member_id, member_id)

    def __contains__(self, member_id: object) -> bool:
        return member_id in self._names

    def __iter__(self) -> Iterator[str]:
        """Member ids, the admin first."""
        return iter(self._names)
