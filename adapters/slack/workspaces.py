"""Which bot token speaks for which workspace, for Bolt (authorize) and for delivery.

One workspace: the `SLACK_BOT_TOKEN`. Several (OAuth): the token stored when the
workspace installed the app, falling back to `SLACK_BOT_TOKEN` for a workspace with no
stored installation. Clients are kept per token and share one HTTP session, so calls
reuse their connections to Slack, and `auth.test` (which tells Bolt the bot's own user
id, to ignore its own events) is asked once per token.
"""

from __future__ import annotations

import time
from typing import Any

import aiohttp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack.client import NotInstalled, error_code, make_client

TOKEN_TTL_SECONDS = 300.0
API_TIMEOUT = aiohttp.ClientTimeout(total=30)  # slack-sdk's default per call


class Workspaces:
    def __init__(
        self,
        api_url: str | None,
        default_token: str | None,
        store: AsyncInstallationStore | None = None,
    ) -> None:
        self._api_url = api_url
        self._default = default_token
        self._store = store
        self._clients: dict[str, AsyncWebClient] = {}
        self._senders: dict[str, AsyncWebClient] = {}  # for the outbox: 429s not retried
        self._tokens: dict[str, tuple[float, str | None]] = {}
        self._auth: dict[str, AsyncSlackResponse] = {}
        self._session: aiohttp.ClientSession | None = None
        self.anonymous = make_client(None, api_url)  # OAuth exchanges, Socket Mode opening

    async def token_for(self, team_id: str | None) -> str:
        token = await self._stored_token(team_id) if team_id and self._store else None
        token = token or self._default
        if not token:
            raise NotInstalled(team_id or "?")
        return token

    async def client_for(self, team_id: str | None) -> AsyncWebClient:
        token = await self.token_for(team_id)
        return self._client(token)

    async def sender_for(self, team_id: str | None) -> AsyncWebClient:
        """The client the outbox sends with: a 429 comes back to the dispatcher."""
        token = await self.token_for(team_id)
        return self._client(token, self._senders, rate_limit_retries=False)

    def _client(
        self,
        token: str,
        cache: dict[str, AsyncWebClient] | None = None,
        *,
        rate_limit_retries: bool = True,
    ) -> AsyncWebClient:
        clients = self._clients if cache is None else cache
        client = clients.get(token)
        if client is None or client.session is None or client.session.closed:
            client = clients[token] = make_client(
                token, self._api_url, self._shared(), rate_limit_retries=rate_limit_retries
            )
        return client

    def webhook(self, response_url: str) -> AsyncWebhookClient:
        """For answering through a request's `response_url`."""
        return AsyncWebhookClient(response_url, session=self._shared())

    def _shared(self) -> aiohttp.ClientSession:
        """The one HTTP session (opened in the loop: every caller is async code)."""
        if self._session is None or self._session.closed:
            # slack-sdk applies its timeout only to sessions it opens itself.
            self._session = aiohttp.ClientSession(timeout=API_TIMEOUT)
        return self._session

    async def auth_test(self, token: str) -> AsyncSlackResponse:
        response = self._auth.get(token)
        if response is None:
            response = self._auth[token] = await self._client(token).auth_test()
        return response

    async def team_name(self, team_id: str) -> str | None:
        """The workspace's name as the `auth.test` made to authorize its requests said
        (read from that answer, never asked for again)."""
        try:
            token = await self.token_for(team_id)
        except NotInstalled:
            return None
        auth = self._auth.get(token)
        if auth is None or auth.get("team_id") != team_id:
            return None
        name = auth.get("team")
        return name if isinstance(name, str) else None

    async def close(self) -> None:
        """Close the shared HTTP session (a later call opens a new one)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def drop(self, team_id: str | None) -> None:
        """Delete a workspace's stored installation (it removed the app)."""
        if self._store is not None and team_id:
            await self._store.async_delete_all(enterprise_id=None, team_id=team_id)
        self.forget(team_id)

    def forget(self, team_id: str | None = None) -> None:
        """Drop cached tokens (after an install or uninstall)."""
        if team_id is None:
            self._tokens.clear()
        else:
            self._tokens.pop(team_id, None)

    async def _stored_token(self, team_id: str) -> str | None:
        now = time.monotonic()
        cached = self._tokens.get(team_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        assert self._store is not None
        bot = await self._store.async_find_bot(enterprise_id=None, team_id=team_id)
        token = bot.bot_token if bot is not None else None
        if token is not None:  # a miss is not kept: the workspace may install any moment
            self._tokens[team_id] = (now + TOKEN_TTL_SECONDS, token)
        return token


DEAD_TOKEN = ("invalid_auth", "account_inactive", "token_revoked")


class WorkspaceAuthorize(AsyncAuthorize):
    """Bolt's authorize step, answered from `Workspaces`: a request from a workspace
    payforward has no token for is refused by Bolt before any listener runs."""

    def __init__(self, workspaces: Workspaces) -> None:
        self._workspaces = workspaces

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **actor: Any,
    ) -> AuthorizeResult | None:
        try:
            token = await self._workspaces.token_for(team_id)
        except NotInstalled:
            return None
        try:
            auth = await self._workspaces.auth_test(token)
        except SlackApiError as error:
            if error_code(error) not in DEAD_TOKEN:
                raise
            # The workspace removed the app while we were away (its app_uninstalled
            # event cannot be authorized any more): forget the installation.
            await self._workspaces.drop(team_id)
            return None
        return AuthorizeResult.from_auth_test_response(bot_token=token, auth_test_response=auth)
