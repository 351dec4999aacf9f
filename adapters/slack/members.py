"""Who a Slack user is, from `users.info`, cached.

Every slash command, reaction and button needs the actor's admin flag and timezone;
asking Slack each time would spend the Tier 4 budget on the busiest path and add a
round trip to every event. Entries live ten minutes, so a promotion to admin or a
timezone change shows up soon enough, and concurrent lookups of one user share a call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.client import error_code
from bot.events import MemberInfo

log = logging.getLogger(__name__)

TTL_SECONDS = 600.0
MAX_ENTRIES = 10_000

ClientFor = Callable[[str], Awaitable[AsyncWebClient]]


class Members:
    def __init__(self, client_for: ClientFor, *, ttl: float = TTL_SECONDS) -> None:
        self._client_for = client_for
        self._ttl = ttl
        self._cache: dict[tuple[str, str], tuple[float, asyncio.Future[MemberInfo]]] = {}

    async def info(self, team_id: str, user_id: str) -> MemberInfo:
        key = (team_id, user_id)
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return await asyncio.shield(cached[1])
        if len(self._cache) >= MAX_ENTRIES:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
        future: asyncio.Future[MemberInfo] = asyncio.get_running_loop().create_future()
        self._cache[key] = (now + self._ttl, future)
        try:
            info = await self._fetch(team_id, user_id)
        except asyncio.CancelledError:
            self._cache.pop(key, None)
            future.cancel()
            raise
        except Exception as error:
            # Losing the event would be worse than treating the actor as a plain member
            # for once; the failed lookup is not remembered.
            log.warning("users.info failed for %s: %s", user_id, error)
            self._cache.pop(key, None)
            info = MemberInfo(user_id, is_admin=None)  # unknown: the recorded flag stands
        future.set_result(info)
        return info

    async def _fetch(self, team_id: str, user_id: str) -> MemberInfo:
        client = await self._client_for(team_id)
        try:
            response = await client.users_info(user=user_id)
        except SlackApiError as error:
            if error_code(error) in ("user_not_found", "account_inactive"):
                return MemberInfo(user_id)  # gone for good: cache that
            raise
        user = response.get("user") or {}
        profile = user.get("profile") or {}
        name = (
            profile.get("display_name")
            or profile.get("real_name")
            or user.get("real_name")
            or user.get("name")
        )
        return MemberInfo(
            member_id=user_id,
            display_name=name or None,
            is_bot=bool(user.get("is_bot")) or user_id == "USLACKBOT",
            is_admin=bool(user.get("is_admin") or user.get("is_owner")),
            tz=user.get("tz") or None,
        )
