"""Answering a form one line at a time, as the console's stand-in for a modal.

A modal validates before it lets you submit; the console cannot hold you there, so a
bad answer is asked again once with a hint and a second bad answer counts as an empty
one. That keeps piped transcripts deterministic: every field takes one or two lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from adapters.console.members import Roster
from bot.events import FieldValue
from bot.messages import FieldKind, FormField

NOBODY = "-"
_YES = frozenset({"y", "yes", "true"})
_NO = frozenset({"n", "no", "false"})


@dataclass(frozen=True)
class Rejected:
    hint: str


def parse_answer(field: FormField, answer: str, roster: Roster) -> FieldValue | Rejected:
    """The value a platform's form would submit for `answer`, or why it is not one."""
    answer = answer.strip()
    if field.kind is FieldKind.MEMBERS:
        return _members(field, answer, roster)
    if field.kind is FieldKind.MEMBER:
        return _member(field, answer, roster)
    if field.kind is FieldKind.BOOLEAN:
        if not answer or answer.lower() in _NO:
            return False
        if answer.lower() in _YES:
            return True
        return Rejected("Answer y or n.")
    if field.required and not answer:
        return Rejected("This one needs an answer.")
    if field.max_length is not None and len(answer) > field.max_length:
        return Rejected(f"That is {len(answer)} characters; at most {field.max_length}.")
    return answer


def empty_answer(field: FormField) -> FieldValue:
    """What pressing Enter means for the field: its preselection, else nothing."""
    if field.kind is FieldKind.MEMBERS:
        return tuple(field.initial)
    if field.kind is FieldKind.MEMBER:
        return field.initial[0] if field.initial else None
    if field.kind is FieldKind.BOOLEAN:
        return False
    return ""


def _members(field: FormField, answer: str, roster: Roster) -> FieldValue | Rejected:
    if answer == NOBODY:
        return _unless_required(field, ())
    if not answer:
        return _unless_required(field, empty_answer(field))
    picked: list[str] = []
    for name in re.split(r"[\s,]+", answer):
        if not name:
            continue
        found = _known(field, name, roster)
        if isinstance(found, Rejected):
            return found
        if found not in picked:
            picked.append(found)
    return tuple(picked)


def _member(field: FormField, answer: str, roster: Roster) -> FieldValue | Rejected:
    if answer == NOBODY:
        return _unless_required(field, None)
    if not answer:
        return _unless_required(field, empty_answer(field))
    if len(re.split(r"[\s,]+", answer)) > 1:
        return Rejected("Just one name, please.")
    return _known(field, answer, roster)


def _known(field: FormField, name: str, roster: Roster) -> str | Rejected:
    member_id = roster.find(name)
    choices = field.options or None
    if member_id is None or (choices is not None and member_id not in choices):
        allowed = choices if choices is not None else tuple(roster)
        listed = " ".join(f"@{roster.name_of(m)}" for m in allowed)
        return Rejected(f"{name} is not someone you can pick here; choose from {listed}.")
    return member_id


def _unless_required(field: FormField, value: FieldValue) -> FieldValue | Rejected:
    if field.required and not value:
        return Rejected("Pick at least one." if field.kind is FieldKind.MEMBERS else "Pick one.")
    return value
