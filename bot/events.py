"""Normalized inbound events: what an adapter hands the core for one platform happening.

Every event carries the platform's own id (`event_id`) so that a redelivery changes
nothing, and the acting member as the adapter knows them. Mentions inside command text
are normalized by the adapter to `<@member_id>` and channels to `<#channel_id>`; each
mentioned member is described in `mentions` (an id missing there is unknown).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.domain import MessageRef


@dataclass(frozen=True)
class MemberInfo:
    member_id: str
    display_name: str | None = None
    is_bot: bool = False
    # None: the platform did not say (a Discord reaction carries no permissions), so
    # what was recorded before stands.
    is_admin: bool | None = False
    tz: str | None = None  # IANA name when the platform tells us


@dataclass(frozen=True, kw_only=True)
class Event:
    event_id: str
    community_id: str
    actor: MemberInfo
    channel_id: str | None = None
    raw: Any = field(default=None, compare=False, repr=False)
    # False when the community was read from data a member can forge or carry
    # elsewhere (a Discord button's custom id, pressed in a DM where the platform
    # names no community): the core then acts only for someone it already knows as
    # a member of that community, and refuses without saying why.
    community_from_platform: bool = True
    # What the platform calls the community (a Discord guild's or Slack workspace's
    # name), when the adapter knows it: kept for the dashboard's headings.
    community_name: str | None = None
    channel_name: str | None = None  # likewise the channel's, without its "#"


@dataclass(frozen=True, kw_only=True)
class CommandInvoked(Event):
    """`/ask`, `/thanks`, `/give` or `/payforward`; `command` has no slash."""

    command: str
    text: str = ""
    mentions: Mapping[str, MemberInfo] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ReactionAdded(Event):
    message: MessageRef
    emoji: str  # as the platform gives it: a Slack name or a unicode emoji


@dataclass(frozen=True, kw_only=True)
class ReactionRemoved(Event):
    message: MessageRef
    emoji: str


@dataclass(frozen=True, kw_only=True)
class ButtonPressed(Event):
    action: str
    value: str = ""
    message: MessageRef | None = None


FieldValue = str | bool | tuple[str, ...] | None


@dataclass(frozen=True, kw_only=True)
class FormSubmitted(Event):
    form: str
    value: str = ""  # the private value the form was opened with
    fields: Mapping[str, FieldValue] = field(default_factory=dict)
