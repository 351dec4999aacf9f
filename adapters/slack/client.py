"""The Web API side: configured clients, and Slack's errors as the core's Delivery.

Clients retry dropped connections with slack-sdk's retry handler. 429s are retried
after their `Retry-After` by the client only for what answers a member at once
(ephemeral answers, modals); the outbox's sends use a client without that handler
(`rate_limit_retries=False`), so that the dispatcher sees each 429, holds only the
rate-limit key it was for and keeps serving answers first, instead of a send
sleeping in its slot. What fails is mapped so the dispatcher knows whether to wait
(`RetryAfter`, throttled for a 429), back off (`RetryAfter(0)`) or give up
(`Undeliverable`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.messages import Delivery, RetryAfter, Undeliverable

log = logging.getLogger(__name__)

# Errors that no retry can fix: the message is dropped and the core told why.
UNDELIVERABLE = frozenset(
    {
        "not_in_channel",
        "channel_not_found",
        "is_archived",
        "cannot_dm_bot",
        "user_not_found",
        "account_inactive",
        "user_disabled",
        "user_not_visible",  # conversations.open: a group DM with someone the bot can't see
        "invalid_user_combination",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "restricted_action",
        "invalid_blocks",
        "msg_too_long",
        "no_text",
        "not_allowed_token_type",
        "channel_is_archived",
    }
)


class NotInstalled(Exception):
    """No bot token for this workspace: it never installed the app, or uninstalled it."""

    def __init__(self, team_id: str) -> None:
        super().__init__(f"payforward is not installed in Slack workspace {team_id}")
        self.team_id = team_id


def make_client(
    token: str | None,
    base_url: str | None,
    session: aiohttp.ClientSession | None = None,
    *,
    rate_limit_retries: bool = True,
) -> AsyncWebClient:
    """A client for `token`, sending every call to `base_url` (SLACK_API_URL) when set.
    Without a `session`, slack-sdk opens a new one, and a new connection, per call."""
    url = base_url or AsyncWebClient.BASE_URL
    handlers: list[AsyncRetryHandler] = [AsyncConnectionErrorRetryHandler(max_retry_count=2)]
    if rate_limit_retries:
        handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    return AsyncWebClient(
        token=token,
        base_url=url if url.endswith("/") else url + "/",
        session=session,
        retry_handlers=handlers,
    )


def retry_after(error: SlackApiError) -> float | None:
    """The seconds of a 429's Retry-After, or None when it was no rate limit."""
    if error.response.status_code != 429:
        return None
    for name, value in (error.response.headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) else value
            try:
                return max(1.0, float(raw))
            except ValueError:
                break
    return 30.0


def error_code(error: SlackApiError) -> str:
    """Slack's error code, or `http_<status>` when the answer was no JSON object (a
    proxy's 502 page, an HTML 500): such an answer is a failure to retry, not a bug."""
    data = error.response.data
    code = data.get("error") if isinstance(data, dict) else None
    return str(code or f"http_{error.response.status_code}")


async def delivering(send: Callable[[], Awaitable[Delivery]]) -> Delivery:
    """Run one delivery and turn what goes wrong into the Delivery the core expects."""
    try:
        return await send()
    except NotInstalled:
        return Undeliverable("not_installed")
    except SlackApiError as error:
        code = error_code(error)
        wait = retry_after(error)
        if wait is not None:
            return RetryAfter(wait, "ratelimited", throttled=True)
        if code in UNDELIVERABLE:
            return Undeliverable(code)
        log.warning("Slack refused a delivery: %s", code)
        return RetryAfter(0.0, code)  # 5xx, auth trouble, the unexpected: back off
    except (TimeoutError, aiohttp.ClientError, OSError) as error:
        return RetryAfter(0.0, type(error).__name__)
