"""Slack's documented payload shapes, as the tests send them.

Slash commands are form fields, Events API deliveries are `event_callback` envelopes,
and interactions (`block_actions`, `view_submission`) are JSON in a `payload` field.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

Json = dict[str, Any]
_ids = itertools.count(1)


def _next() -> int:
    return next(_ids)


def slash(
    team: str, user: str, command: str, text: str, response_url: str, channel: str = "C1"
) -> Json:
    n = _next()
    return {
        "token": "verification-token",
        "team_id": team,
        "team_domain": team.lower(),
        "channel_id": channel,
        "channel_name": "general",
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A1",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": f"{n}.{n}.trigger{n}",
    }


def event(team: str, body: Json, event_id: str | None = None) -> Json:
    n = _next()
    return {
        "token": "verification-token",
        "team_id": team,
        "api_app_id": "A1",
        "event": {**body, "event_ts": f"1700000{n:03d}.000001"},
        "type": "event_callback",
        "event_id": event_id or f"Ev{n:08d}",
        "event_time": 1700000000 + n,
        "authorizations": [{"team_id": team, "user_id": "UBOT", "is_bot": True}],
    }


def reaction(
    team: str,
    user: str,
    channel: str,
    ts: str,
    *,
    added: bool = True,
    emoji: str = "raising_hand",
    event_id: str | None = None,
) -> Json:
    kind = "reaction_added" if added else "reaction_removed"
    body = {
        "type": kind,
        "user": user,
        "reaction": emoji,
        "item_user": "UBOT",
        "item": {"type": "message", "channel": channel, "ts": ts},
    }
    return event(team, body, event_id)


def home_opened(team: str, user: str) -> Json:
    return event(
        team, {"type": "app_home_opened", "user": user, "channel": "D" + user, "tab": "home"}
    )


def button(
    team: str,
    user: str,
    action: str,
    value: str,
    channel: str,
    ts: str,
    response_url: str,
    *,
    ephemeral: bool = False,
) -> Json:
    n = _next()
    return {
        "type": "block_actions",
        "team": {"id": team, "domain": team.lower()},
        "user": {"id": user, "username": user.lower(), "team_id": team},
        "api_app_id": "A1",
        "token": "verification-token",
        "container": {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel,
            "is_ephemeral": ephemeral,
        },
        "trigger_id": f"{n}.{n}.trigger{n}",
        "channel": {"id": channel, "name": "general"},
        "message": {"type": "message", "ts": ts, "text": "card"},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action,
                "block_id": "b1",
                "value": value,
                "type": "button",
                "action_ts": f"{1700000000 + n}.1",
            }
        ],
    }


def submission(team: str, user: str, opened_view: Json, values: Json) -> Json:
    """The `view_submission` for a modal as views.open received it, with `values` as
    `state.values` (block id → action id → element state)."""
    n = _next()
    return {
        "type": "view_submission",
        "team": {"id": team, "domain": team.lower()},
        "user": {"id": user, "username": user.lower(), "team_id": team},
        "api_app_id": "A1",
        "token": "verification-token",
        "trigger_id": f"{n}.{n}.trigger{n}",
        "view": {
            "id": f"V{n}",
            "team_id": team,
            "type": "modal",
            "callback_id": opened_view["callback_id"],
            "private_metadata": opened_view["private_metadata"],
            "blocks": opened_view["blocks"],
            "hash": f"{n}.hash",
            "state": {"values": values},
        },
    }


def as_form(payload: Json) -> Json:
    """An interaction as HTTP mode posts it: JSON in a `payload` form field."""
    return {"payload": json.dumps(payload)}
