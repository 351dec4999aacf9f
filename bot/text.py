"""Member text as the core keeps it: no control characters, no invisible edges.

Every event's text passes here once, on its way in (`PayForward.handle`): command
text, form fields, the names platforms tell us. Two things are taken out:
- control characters (NUL and the like, but not tab and newline): PostgreSQL cannot
  store a NUL in text, and no member means one;
- invisible characters at either end: zero-width spaces and joiners, the byte-order
  mark, bidirectional marks, Hangul fillers, the braille blank, variation selectors
  and the rest of Unicode's default-ignorable code points, and every kind of space.
So text that looks empty is empty: `/ask` of only zero-width characters gets the
usage help, never a blank card. Invisible characters inside visible text stay (a
zero-width joiner holds an emoji sequence together).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import TypeVar

from bot.events import CommandInvoked, Event, FieldValue, FormSubmitted, MemberInfo

# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt), plus the braille
# blank and the Hangul fillers' look-alikes that render as nothing.
_IGNORABLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_EDGES = re.compile(rf"^[\s{_IGNORABLE}]+|[\s{_IGNORABLE}]+$")

E = TypeVar("E", bound=Event)


def clean(value: str) -> str:
    """The text without control characters and without invisible edges."""
    return _EDGES.sub("", _CONTROL.sub("", value))


def is_blank(value: str) -> bool:
    return not clean(value)


def _name(value: str | None) -> str | None:
    return (clean(value) or None) if value is not None else None


def _member(info: MemberInfo) -> MemberInfo:
    name = _name(info.display_name)
    return info if name == info.display_name else replace(info, display_name=name)


def _field(value: FieldValue) -> FieldValue:
    return clean(value) if isinstance(value, str) else value


def cleaned(event: E) -> E:
    """The event with its member text and names cleaned (the same event if nothing changed)."""
    changes: dict[str, object] = {}
    actor = _member(event.actor)
    if actor is not event.actor:
        changes["actor"] = actor
    if isinstance(event, CommandInvoked):
        text = clean(event.text)
        if text != event.text:
            changes["text"] = text
        mentions: Mapping[str, MemberInfo] = {k: _member(v) for k, v in event.mentions.items()}
        if any(mentions[k] is not v for k, v in event.mentions.items()):
            changes["mentions"] = mentions
    if isinstance(event, FormSubmitted):
        fields = {k: _field(v) for k, v in event.fields.items()}
        if fields != dict(event.fields):
            changes["fields"] = fields
    return replace(event, **changes) if changes else event  # type: ignore[arg-type]
