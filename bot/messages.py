"""Normalized outgoing messages: what the core says, before any platform renders it.

A message is a few blocks of spans. Plain `str` spans are the bot's own copy; member
text travels as `UserText` so that every adapter escapes it (no @channel/@everyone
pings, no markup injection). `Mention` and `ChannelMention` are rendered natively.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from bot.domain import MessageRef


@dataclass(frozen=True)
class UserText:
    text: str


@dataclass(frozen=True)
class Mention:
    member_id: str


@dataclass(frozen=True)
class ChannelMention:
    channel_id: str


Span = str | UserText | Mention | ChannelMention


class Style(StrEnum):
    HEADING = "heading"
    TEXT = "text"
    QUOTE = "quote"  # member text set apart
    ITEM = "item"  # one line of a list
    CONTEXT = "context"  # small print
    CODE = "code"  # preformatted (tables, sparklines)


@dataclass(frozen=True)
class Block:
    style: Style
    spans: tuple[Span, ...]


class ButtonStyle(StrEnum):
    DEFAULT = "default"
    PRIMARY = "primary"
    DANGER = "danger"


@dataclass(frozen=True)
class Button:
    action: str
    label: str
    value: str = ""
    style: ButtonStyle = ButtonStyle.DEFAULT


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: str


@dataclass(frozen=True)
class Message:
    blocks: tuple[Block, ...]
    buttons: tuple[Button, ...] = ()
    ask_number: int | None = None  # the ask this message is about, shown as #N
    attachment: Attachment | None = None

    def plain(self, name_of: Callable[[str], str] = lambda m: m) -> str:
        """A one-string rendering for notifications and logs."""
        return "\n".join(render_spans(b.spans, name_of) for b in self.blocks)


def render_spans(
    spans: tuple[Span, ...],
    name_of: Callable[[str], str] = lambda m: m,
    channel_of: Callable[[str], str] = lambda c: c,
) -> str:
    parts: list[str] = []
    for span in spans:
        if isinstance(span, str):
            parts.append(span)
        elif isinstance(span, UserText):
            parts.append(span.text)
        elif isinstance(span, Mention):
            parts.append("@" + name_of(span.member_id))
        else:
            parts.append("#" + channel_of(span.channel_id))
    return "".join(parts)


class FieldKind(StrEnum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    MEMBERS = "members"  # several members; `options` limits the choice when given
    MEMBER = "member"  # one member, optional unless required
    BOOLEAN = "boolean"


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: FieldKind
    required: bool = False
    options: tuple[str, ...] = ()  # member ids to choose from (MEMBERS)
    initial: tuple[str, ...] = ()  # preselected member ids
    max_length: int | None = None


@dataclass(frozen=True)
class Form:
    form: str  # what FormSubmitted.form will carry
    title: str
    submit_label: str
    fields: tuple[FormField, ...]
    value: str = ""  # private value echoed back in FormSubmitted.value
    intro: str = ""


class Priority(IntEnum):
    """How soon a queued message matters to someone; a lower value is sent first.

    NOW answers what a member just did (an ask card and its edits, the offer DM,
    thanks, confirmations); SOON is per-ask and per-member scheduled work (reminders,
    bumps, routed asks, the weekly post); BULK is a fan-out (prompts, cups rounds).
    A message never waits behind one of a lower class."""

    NOW = 0
    SOON = 1
    BULK = 2


# Targets of queued (outbox) messages.


@dataclass(frozen=True)
class ToChannel:
    channel_id: str


@dataclass(frozen=True)
class ToMember:
    """A direct message."""

    member_id: str


@dataclass(frozen=True)
class ToMessage:
    """Replace a message posted earlier."""

    ref: MessageRef


GROUP_PREFIX = "group:"
GROUP_DM_PLATFORMS = frozenset({"slack"})  # whose adapter opens a group DM for a ToGroup


@dataclass(frozen=True)
class ToGroup(ToChannel):
    """One direct message to several members together (a cups intro).

    Its channel id is the group's address, `group:A,B[,C]`, so any dispatcher delivers
    it as a post (`ChatAdapter.post`) and keys the post's rate limit on the group:
    the adapter of a platform in GROUP_DM_PLATFORMS opens the conversation (Slack:
    `conversations.open` with the members) and posts there. For other platforms the
    core never queues one: it sends each member a DM of their own, deciding so at
    queue time from the community's platform (`holds_group_dms`)."""

    @classmethod
    def of(cls, member_ids: tuple[str, ...]) -> ToGroup:
        return cls(GROUP_PREFIX + ",".join(member_ids))

    @property
    def member_ids(self) -> tuple[str, ...]:
        return group_members(self.channel_id) or ()


def group_members(channel_id: str) -> tuple[str, ...] | None:
    """The members a group address names; None for any other channel id."""
    if not channel_id.startswith(GROUP_PREFIX):
        return None
    return tuple(m for m in channel_id.removeprefix(GROUP_PREFIX).split(",") if m)


def holds_group_dms(platform: str) -> bool:
    return platform in GROUP_DM_PLATFORMS


Target = ToChannel | ToMember | ToMessage  # ToGroup is a ToChannel


# Immediate answers, given back to the adapter in the context of the request.


@dataclass(frozen=True)
class Reply:
    """Seen only by the member who acted (Slack ephemeral, Discord ephemeral)."""

    message: Message


@dataclass(frozen=True)
class OpenForm:
    form: Form


Answer = Reply | OpenForm


@dataclass(frozen=True)
class Delivered:
    ref: MessageRef


@dataclass(frozen=True)
class RetryAfter:
    """Try again in `seconds` (0: the dispatcher picks a backoff). `throttled`: the
    platform's rate limit said so (a 429), which is nobody's failure; `key`, when the
    adapter knows it, names the rate-limit key (bot.limits) the 429 was for."""

    seconds: float
    reason: str = ""
    throttled: bool = False
    key: str | None = None


@dataclass(frozen=True)
class Undeliverable:
    reason: str


Delivery = Delivered | RetryAfter | Undeliverable


def text(*spans: Span, style: Style = Style.TEXT) -> Block:
    return Block(style, spans)
