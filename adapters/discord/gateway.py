"""Pointing discord.py at another Discord: a REST base URL and a gateway URL.

discord.py has no per-client setting for either. REST URLs are built from the class
attribute `discord.http.Route.BASE` (the webhook and interaction routes use the same
`Route`), and a non-sharded `Client` — or an `AutoShardedClient` with a fixed shard
count — opens its first gateway connection at `DiscordWebSocket.DEFAULT_GATEWAY`
(`DiscordWebSocket.from_client` falls back to it; discord.py 2.7 does not ask
`/gateway/bot` in that case). Resumes then use the `resume_gateway_url` from READY,
as Discord intends. Both overrides are process-wide, which matches how payforward runs:
one Discord application per process. Keeping them here makes that one visible place.
"""

from __future__ import annotations

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

DISCORD_API_URL = "https://discord.com/api/v10"
DISCORD_GATEWAY_URL = "wss://gateway.discord.gg/"


def point_at(api_url: str | None, gateway_url: str | None) -> None:
    """Use `api_url` for REST and `gateway_url` for the gateway; None means Discord's own."""
    Route.BASE = (api_url or DISCORD_API_URL).rstrip("/")
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url or DISCORD_GATEWAY_URL)
