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

Payload = Mapping[str, Any]
Lookup = Callable[[str, str], Awaitable[MemberInfo]]
"""(team_id, user_id) → what users.info says about them."""


def community_id(team_id: str) -> str:
    return f"{PLATFORM}:{team_id}"


def team_of(body: Payload) -> str:
    """The workspace a payload comes from, wherever this payload type keeps it."""
    team = body.get("team_id") or (body.get("team") or {}).get("id")
    team = team or (body.get("user") or {}).get("team_id")
    team = team or (body.get("view") or {}).get("team_id")
    team = team or body.get("enterprise_id") or (body.get("enterprise") or {}).get("id")
    if not team:
        raise ValueError("a Slack payload without a team id")
    return str(team)


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
    text, mentioned = normalize_text(str(body.get("text") or ""))
    actor, *described = await asyncio.gather(
        lookup(team, str(body["user_id"])), *(lookup(team, user) for user in mentioned)
    )
    mentions = dict(zip(mentioned, described, strict=True))
    return CommandInvoked(
        event_id=_interaction_id(body),
        community_id=community_id(team),
        actor=actor,
        channel_id=body.get("channel_id"),
        command=str(body["command"]).lstrip("/"),
        text=text,
        mentions=mentions,
        raw=body,
    )


async def reaction(body: Payload, lookup: Lookup) -> ReactionAdded | ReactionRemoved | None:
    """`reaction_added` / `reaction_removed` on a message; reactions on files are ignored."""
    event = body["event"]
    item = event.get("item") or {}
    if item.get("type") != "message":
        return None
    team = team_of(body)
    kind = ReactionAdded if event["type"] == "reaction_added" else ReactionRemoved
    return kind(
        event_id=str(body["event_id"]),
        community_id=community_id(team),
        actor=await lookup(team, str(event["user"])),
        channel_id=item["channel"],
        message=MessageRef(item["channel"], item["ts"]),
        emoji=str(event["reaction"]),
        raw=body,
    )


async def button(body: Payload, lookup: Lookup) -> ButtonPressed:
    """A `block_actions` payload with one button action."""
    team = team_of(body)
    action = body["actions"][0]
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    container = body.get("container") or {}
    message_ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    ref = (
        MessageRef(channel, message_ts)
        if channel and message_ts and not container.get("is_ephemeral")
        else None
    )
    return ButtonPressed(
        event_id=_interaction_id(body),
        community_id=community_id(team),
        actor=await lookup(team, str(body["user"]["id"])),
        channel_id=channel,
        action=str(action["action_id"]),
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
    view = body["view"]
    meta = _metadata(body)
    fields: dict[str, FieldValue] = {}
    for block_id, actions in (view.get("state") or {}).get("values", {}).items():
        for element in actions.values():
            fields[block_id] = _field_value(element)
    return FormSubmitted(
        event_id=_interaction_id(body),
        community_id=community_id(team),
        actor=await lookup(team, str(body["user"]["id"])),
        channel_id=meta.get("channel"),
        form=str(meta.get("form") or str(view.get("callback_id", "")).removeprefix(FORM_PREFIX)),
        value=str(meta.get("value") or ""),
        fields=fields,
        raw=body,
    )


def _field_value(element: Mapping[str, Any]) -> FieldValue:
    kind = element.get("type")
    if kind == "multi_users_select":
        return tuple(element.get("selected_users") or ())
    if kind == "users_select":
        return element.get("selected_user")
    if kind == "checkboxes":
        return bool(element.get("selected_options"))
    return str(element.get("value") or "")


def _metadata(body: Payload) -> dict[str, Any]:
    raw = (body.get("view") or {}).get("private_metadata") or "{}"
    try:
        meta = json.loads(raw)
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


def _interaction_id(body: Payload) -> str:
    """Slash commands and interactions have no event id; their trigger id is unique."""
    trigger = body.get("trigger_id")
    if trigger:
        return f"trigger:{trigger}"
    view = body.get("view") or {}
    return f"view:{view.get('id')}:{view.get('hash')}"
