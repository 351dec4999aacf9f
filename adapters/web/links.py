"""Links from the dashboard back into the platforms: to an ask's message, to a channel.

Discord's are plain https addresses. A Slack permalink needs the workspace's domain
(`https://<team>.slack.com/archives/<channel>/p<ts without the dot>`), which payforward
only knows when it is told (`slack_domains`); otherwise the `slack://` deep link opens
the same message in the Slack app.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from bot.domain import MessageRef


def _split(community_id: str) -> tuple[str, str]:
    platform, _, native = community_id.partition(":")
    return platform, native


def message_link(
    community_id: str, ref: MessageRef | None, slack_domains: Mapping[str, str]
) -> str | None:
    if ref is None:
        return None
    platform, native = _split(community_id)
    if platform == "discord":
        return f"https://discord.com/channels/{native}/{ref.channel_id}/{ref.message_id}"
    if platform == "slack":
        domain = slack_domains.get(native)
        if domain:
            ts = ref.message_id.replace(".", "")
            return f"https://{domain}.slack.com/archives/{ref.channel_id}/p{ts}"
        query = urlencode({"team": native, "id": ref.channel_id, "message": ref.message_id})
        return f"slack://channel?{query}"
    return None


def community_label(community_id: str, name: str | None = None) -> str:
    """What a person calls the community: the platform's name for it once an event
    has carried one, its platform and id until then."""
    if name:
        return name
    platform, native = _split(community_id)
    if platform == "console":
        return "Console community"
    kind = {"slack": "Slack workspace", "discord": "Discord server"}.get(platform, platform)
    return f"{kind} {native}"
