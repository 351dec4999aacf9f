"""Translate-in: Slack payloads (slash commands, Events API events, interactions) as the
core's normalized events.

Slack's markup is turned into the core's canonical form here, once: `<@U1|ann>` becomes
`<@U1>` and `<#C1|general>` becomes `<#C1>`, while links lose their brackets so the
stored text reads the same on every platform. Special mentions (`<!channel>`) are left
as they came: render-out escapes all member text, so they never ping.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from bot.domain import MessageRef
from bot.events import (
    ButtonPressed,
    CommandInvoked,
    FieldValue,
    FormSubmitted,
    MemberInfo,
    ReactionAdded,
    ReactionRemoved,
)

PLATFORM = "slack"
FORM_PREFIX = "payforward:"  # callback_id of the modals this app opens

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")
_CHANNEL = re.compile(r"<#([CGD][A-Z0-9]+)(?:\|[^<>]*)?>")
_LINK = re.compile(r"<((?:https?|mailto):[^<>|\s]+)(?:\|([^<>]*))?>")

UNREADABLE = "I couldn't read that request, so nothing was saved. Please try again."

Payload = Mapping[str, Any]
Lookup = Callable[[str, str], Awaitable[MemberInfo]]
"""(team_id, user_id) → what users.info says about them."""


class Malformed(ValueError):
    """A payload without what every payload of its kind has (a user, an event id, a
    team): not Slack's doing, so it is refused in one log line, never a traceback."""


def _text(value: Any, what: str) -> str:
    """A required id: a non-empty string."""
    if not isinstance(value, str) or not value:
        raise Malformed(f"no {what}")
    return value


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def community_id(team_id: str) -> str:
    return f"{PLATFORM}:{team_id}"


def team_of(body: Payload) -> str:
    """The workspace a payload comes from, wherever this payload type keeps it."""
    team = body.get("team_id") or _object(body.get("team")).get("id")
    team = team or _object(body.get("user")).get("team_id")
    team = team or _object(body.get("view")).get("team_id")
    team = team or body.get("enterprise_id") or _object(body.get("enterprise")).get("id")
    return _text(team, "team id")


def normalize_text(text: str) -> tuple[str, list[str]]:
    """Canonical command text and the ids of the users it mentions, in order."""
    mentioned: list[str] = []

    def user(match: re.Match[str]) -> str:
        if match.group(1) not in mentioned:
            mentioned.append(match.group(1))
        return f"<@{match.group(1)}>"

    def link(match: re.Match[str]) -> str:
        target = match.group(1)
        return target.removeprefix("mailto:") if target.startswith("mailto:") else target

    text = _USER.sub(user, text)
    text = _CHANNEL.sub(lambda m: f"<#{m.group(1)}>", text)
    return _LINK.sub(link, text), mentioned


async def command(body: Payload, lookup: Lookup) -> CommandInvoked:
    """A slash command payload (form-encoded, as Bolt hands it over)."""
    team = team_of(body)
    user = _text(body.get("user_id"), "user_id")
    command = _text(body.get("command"), "command")
    text, mentioned = normalize_text(str(body.get("text") or ""))
    actor, *described = await asyncio.gather(
        lookup(team, user), *(lookup(team, mentioned_id) for mentioned_id in mentioned)
    )
    mentions = dict(zip(mentioned, described, strict=True))
    return CommandInvoked(
        event_id=_interaction_id(body),
        community_id=community_id(team),
        actor=actor,
        channel_id=body.get("channel_id"),
        command=command.lstrip("/"),
        text=text,
        mentions=mentions,
        raw=body,
        channel_name=_channel_name(body.get("channel_name")),
    )


def _channel_name(name: Any) -> str | None:
    """A slash command's `channel_name`; Slack's placeholders for DMs are no names."""
    if not isinstance(name, str) or name in ("directmessage", "privategroup"):
        return None
    return name


async def reaction(body: Payload, lookup: Lookup) -> ReactionAdded | ReactionRemoved | None:
    """`reaction_added` / `reaction_removed` on a message; reactions on files are ignored."""
    event = _object(body.get("event"))
    item = _object(event.get("item"))
    if item.get("type") != "message":
        return None
    team = team_of(body)
    event_id = _text(body.get("event_id"), "event_id")
    user = _text(event.get("user"), "user")
    channel, ts = _text(item.get("channel"), "channel"), _text(item.get("ts"), "message ts")
    emoji = _text(event.get("reaction"), "reaction")
    kind = ReactionAdded if event.get("type") == "reaction_added" else ReactionRemoved
    return kind(
        event_id=event_id,
        community_id=community_id(team),
        actor=await lookup(team, user),
        channel_id=channel,
        message=MessageRef(channel, ts),
        emoji=emoji,
        raw=body,
    )


async def button(body: Payload, lookup: Lookup) -> ButtonPressed:
    """A `block_actions` payload with one button action."""
    team = team_of(body)
    actions = body.get("actions")
    action = _object(actions[0] if isinstance(actions, list) and actions else None)
    container = _object(body.get("container"))
    channel = _object(body.get("channel")).get("id") or container.get("channel_id")
    message_ts = container.get("message_ts") or _object(body.get("message")).get("ts")
    ref = (
        MessageRef(str(channel), str(message_ts))
        if channel and message_ts and not container.get("is_ephemeral")
        else None
    )
    user = _text(_object(body.get("user")).get("id"), "user id")
    return ButtonPressed(
        event_id=_interaction_id(body),
        community_id=community_id(team),
        actor=await lookup(team, user),
        channel_id=str(channel) if channel else None,
        action=_text(action.get("action_id"), "action_id"),
        value=str(action.get("value") or ""),
        message=ref,
        raw=body,
    )


def form_metadata(form: str, value: str, channel_id: str | None) -> str:
    """What a modal carries in `private_metadata` (at most 3,000 characters)."""
    return json.dumps({"form": form, "value": value, "channel": channel_id}, separators=(",", ":"))


def form_channel(body: Payload) -> str | None:
    """The channel the form was opened from, where its answer is shown."""
    return _metadata(body).get("channel")


async def form(body: Payload, lookup: Lookup) -> FormSubmitted:
    """A `view_submission` of a modal opened by `render.form_view`."""
    team = team_of(body)
    view = _object(body.get("view"))
    meta = _metadata(body)
    fields: dict[str, FieldValue] = {}
    for block_id, actions in _object(_object(view.get("state")).get("values")).items():
        for element in _object(actions).values():
            fields[str(block_id)] = _field_value(_object(element))
    user = _text(_object(body.get("user")).get("id"), "user id")
    channel = meta.get("channel")
    return FormSubmitted(
        event_id=_interaction_id(body),
        community_id=community_id(team),
        actor=await lookup(team, user),
        channel_id=channel if isinstance(channel, str) else None,
        form=str(meta.get("form") or str(view.get("callback_id", "")).removeprefix(FORM_PREFIX)),
        value=str(meta.get("value") or ""),
        fields=fields,
        raw=body,
    )


def _field_value(element: Mapping[str, Any]) -> FieldValue:
    kind = element.get("type")
    if kind == "multi_users_select":
        users = element.get("selected_users")
        return tuple(str(u) for u in users) if isinstance(users, list) else ()
    if kind == "users_select":
        user = element.get("selected_user")
        return user if isinstance(user, str) else None
    if kind == "checkboxes":
        return bool(element.get("selected_options"))
    return str(element.get("value") or "")


def _metadata(body: Payload) -> dict[str, Any]:
    raw = _object(body.get("view")).get("private_metadata") or "{}"
    try:
        meta = json.loads(raw)
    except (ValueError, TypeError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _interaction_id(body: Payload) -> str:
    """Slash commands and interactions have no event id; their trigger id is unique."""
    trigger = body.get("trigger_id")
    if trigger:
        return f"trigger:{trigger}"
    view = _object(body.get("view"))
    if not view.get("id"):
        raise Malformed("no trigger_id and no view id")
    return f"view:{view.get('id')}:{view.get('hash')}"
