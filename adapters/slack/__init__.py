"""Slack: payforward in a workspace, over Socket Mode or HTTP (see docs/slack.md).

`build` is what `payforward.bootstrap.run_platforms` calls: it reads the settings and
returns the adapter, which listens for Slack and delivers the core's queued messages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from adapters.slack.app import SlackAdapter
from adapters.slack.oauth import open_oauth
from bot.events import Event
from bot.messages import Answer
from bot.ports import ChatAdapter
from payforward.settings import Settings


def build(
    settings: Settings,
    handle: Callable[[Event], Awaitable[list[Answer]]],
    http: web.Application | None = None,
) -> ChatAdapter:
    """Socket Mode when SLACK_APP_TOKEN is set, else HTTP mode: Slack's routes are
    mounted on `http`, payforward's one HTTP application (payforward/http.py), with
    signatures checked; in HTTP mode, SLACK_CLIENT_ID and SLACK_CLIENT_SECRET add
    OAuth installs for more workspaces."""
    app_token = settings.slack_app_token
    secret = settings.slack_signing_secret
    bot_token = settings.slack_bot_token
    oauth = None
    if settings.slack_oauth:
        assert settings.slack_client_id and settings.slack_client_secret
        oauth = open_oauth(
            settings.slack_client_id,
            settings.slack_client_secret.get_secret_value(),
            settings.database_url,
        )
    adapter = SlackAdapter(
        handle,
        bot_token=bot_token.get_secret_value() if bot_token else None,
        api_url=settings.slack_api_url,
        app_token=app_token.get_secret_value() if app_token else None,
        signing_secret=secret.get_secret_value() if secret else None,
        oauth=oauth,
    )
    if not adapter.socket_mode:
        if http is None:
            raise ValueError("Slack HTTP mode needs the HTTP application to mount its routes on")
        adapter.mount(http)
    return adapter


__all__ = ["SlackAdapter", "build"]
