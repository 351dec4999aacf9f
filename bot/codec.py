"""Messages and targets to plain JSON-able data and back, for the outbox table."""

from __future__ import annotations

from typing import Any

from bot.domain import MessageRef
from bot.messages import (
    Attachment,
    Block,
    Button,
    ButtonStyle,
    ChannelMention,
    Mention,
    Message,
    Span,
    Style,
    Target,
    ToChannel,
    ToGroup,
    ToMember,
    ToMessage,
    UserText,
    group_members,
)


def span_to_data(span: Span) -> Any:
    if isinstance(span, str):
        return span
    if isinstance(span, UserText):
        return {"user": span.text}
    if isinstance(span, Mention):
        return {"member": span.member_id}
    return {"channel": span.channel_id}


def span_from_data(data: Any) -> Span:
    if isinstance(data, str):
        return data
    if "user" in data:
        return UserText(data["user"])
    if "member" in data:
        return Mention(data["member"])
    return ChannelMention(data["channel"])


def message_to_data(message: Message) -> dict[str, Any]:
    data: dict[str, Any] = {
        "blocks": [[b.style.value, [span_to_data(s) for s in b.spans]] for b in message.blocks],
    }
    if message.buttons:
        data["buttons"] = [[b.action, b.label, b.value, b.style.value] for b in message.buttons]
    if message.ask_number is not None:
        data["ask"] = message.ask_number
    if message.attachment is not None:
        data["file"] = [message.attachment.filename, message.attachment.content]
    return data


def message_from_data(data: dict[str, Any]) -> Message:
    return Message(
        blocks=tuple(
            Block(Style(style), tuple(span_from_data(s) for s in spans))
            for style, spans in data["blocks"]
        ),
        buttons=tuple(
            Button(action, label, value, ButtonStyle(style))
            for action, label, value, style in data.get("buttons", [])
        ),
        ask_number=data.get("ask"),
        attachment=Attachment(*data["file"]) if "file" in data else None,
    )


def target_to_data(target: Target) -> dict[str, str]:
    if isinstance(target, ToChannel):
        return {"channel": target.channel_id}
    if isinstance(target, ToMember):
        return {"member": target.member_id}
    return {"ref_channel": target.ref.channel_id, "ref_message": target.ref.message_id}


def target_from_data(data: dict[str, str]) -> Target:
    if "channel" in data:  # a group DM's address reads back as the group
        channel = data["channel"]
        return ToGroup(channel) if group_members(channel) is not None else ToChannel(channel)
    if "member" in data:
        return ToMember(data["member"])
    return ToMessage(MessageRef(data["ref_channel"], data["ref_message"]))


def target_member(target: Target) -> str | None:
    """The member a direct message goes to, for indexing queued DMs."""
    return target.member_id if isinstance(target, ToMember) else None
