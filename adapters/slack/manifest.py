"""The Slack app manifest: paste it at api.slack.com/apps → Create New App → From a manifest.

It asks for exactly the scopes the adapter uses, so an admin reviewing the install sees
nothing unexplained. By default it is a Socket Mode app (no public URL needed); with
`request_url` (`https://host/slack/events`) it becomes an HTTP-mode app whose commands,
events and interactivity all point there, with `https://host/slack/oauth_redirect` as
the redirect URL for multi-workspace installs.
"""

from __future__ import annotations

import json
from typing import Any

BOT_SCOPES = (
    "commands",  # the slash commands
    "chat:write",  # ask cards, DMs, ephemeral answers, card updates
    "channels:join",  # join a public channel on its first /ask, so its reactions reach us
    "reactions:read",  # reaction_added / reaction_removed
    "users:read",  # users.info: admin flag, timezone, display name, bots
    "im:write",  # DMs: posting to a member's id opens the app's DM with them
    "mpim:write",  # cups intros: conversations.open opens a group DM with the pair
    "files:write",  # `/payforward export` sends a JSON file by DM
)
BOT_EVENTS = (
    "reaction_added",
    "reaction_removed",
    "app_home_opened",
    "app_uninstalled",  # forget a workspace's installation when it removes the app
    "tokens_revoked",
)

COMMANDS = (
    ("/ask", "Ask the community for help", "How do I profile asyncio code?"),
    ("/thanks", "Thank someone who helped you", "@member [what they did]"),
    ("/give", "Log help you gave (they confirm), or something you shared", "[@member] <what>"),
    (
        "/payforward",
        "Your stats, the leaderboard, settings and your data",
        "me | leaderboard | interests … | who … | optout … | optin … | export | forget | help",
    ),
)


def manifest(request_url: str | None = None) -> dict[str, Any]:
    commands: list[dict[str, Any]] = []
    for command, description, hint in COMMANDS:
        entry: dict[str, Any] = {
            "command": command,
            "description": description,
            "usage_hint": hint,
            "should_escape": True,  # mentions arrive as <@U…>, never as names
        }
        if request_url:
            entry["url"] = request_url
        commands.append(entry)
    oauth_config: dict[str, Any] = {"scopes": {"bot": list(BOT_SCOPES)}}
    if request_url:  # where multi-workspace installs come back to (OAuth, HTTP mode)
        base = request_url.removesuffix("/slack/events").rstrip("/")
        oauth_config["redirect_urls"] = [f"{base}/slack/oauth_redirect"]
    events: dict[str, Any] = {"bot_events": list(BOT_EVENTS)}
    interactivity: dict[str, Any] = {"is_enabled": True}
    if request_url:
        events["request_url"] = request_url
        interactivity["request_url"] = request_url
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": "payforward",
            "description": "People helping people: asks, offers, thanks and a weekly board.",
            "long_description": (
                "payforward makes pay-it-forward help visible. Post an ask with /ask, offer "
                "help by reacting 🙋 or pressing *I can help*, thank the people who helped, "
                "and every Monday the bot celebrates those who helped — above all with no "
                "return expected. Your data stays on your own server; /payforward export and "
                "/payforward forget give every member control over theirs."
            ),
            "background_color": "#2f4a3a",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": False,
            },
            "bot_user": {"display_name": "payforward", "always_online": True},
            "slash_commands": commands,
        },
        "oauth_config": oauth_config,
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": request_url is None,
            "token_rotation_enabled": False,
        },
    }


def manifest_json(request_url: str | None = None) -> str:
    """The manifest as `payforward slack manifest` prints it."""
    return json.dumps(manifest(request_url), indent=2, ensure_ascii=False)
