"""The OAuth2 URL that adds the bot to a server with exactly the permissions it uses.

Each permission is here because the adapter needs it: seeing the channel of an ask
(which is also what delivers its reactions), posting the ask card, the bump and the
weekly board in channels and threads, as embeds. Nothing else: editing its own cards,
answering interactions and sending DMs (the data export's file included) need no
server permission, and slash commands come with the `applications.commands` scope.
"""

from __future__ import annotations

from urllib.parse import urlencode

import discord

SCOPES = ("bot", "applications.commands")


def required_permissions() -> discord.Permissions:
    return discord.Permissions(
        view_channel=True,
        send_messages=True,
        send_messages_in_threads=True,
        embed_links=True,
    )


def invite_url(application_id: str) -> str:
    """`https://discord.com/oauth2/authorize?...` for the application with that id."""
    query = urlencode(
        {
            "client_id": application_id,
            "scope": " ".join(SCOPES),
            "permissions": str(required_permissions().value),
            "integration_type": "0",  # a server install, not a user install
        }
    )
    return f"https://discord.com/oauth2/authorize?{query}"
