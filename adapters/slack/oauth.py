"""Multi-workspace installs: Bolt's OAuth flow, with installations kept in payforward's
own database (storage/slack_installations.py) rather than in files beside the process.

The OAuth `state` is a signed, short-lived token (slack-sdk's stateless store, keyed
with the client secret) bound to a browser cookie by Bolt: several payforward
processes behind one load balancer can each finish an install another one started.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.stateless import StatelessOAuthStateStore
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.slack.manifest import BOT_SCOPES
from storage.db import make_engine
from storage.slack_installations import SlackInstallations

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
STATE_SECONDS = 300


class DatabaseInstallationStore(AsyncInstallationStore):
    """slack-sdk's installation store interface over the `slack_installations` table."""

    def __init__(self, rows: SlackInstallations) -> None:
        self._rows = rows

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        team = None if installation.is_enterprise_install else installation.team_id
        data = json.dumps(installation.to_dict_for_copying(), default=_iso)
        await self._rows.save(installation.enterprise_id, team, data, datetime.now(UTC))

    async def async_save_bot(self, bot: Bot) -> None:
        """Bots are saved with their installation (`async_save`)."""

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        if is_enterprise_install:
            data = await self._rows.find(enterprise_id, None)
        elif enterprise_id:
            data = await self._rows.find(enterprise_id, team_id) or await self._rows.find(
                enterprise_id, None
            )
        else:
            data = await self._rows.find_team(team_id) if team_id else None
        return None if data is None else Installation(**json.loads(data))

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        found = await self.async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return found.to_bot() if found is not None and found.bot_token else None

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._rows.delete(enterprise_id, team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await self._rows.delete(enterprise_id, team_id)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._rows.delete(enterprise_id, team_id)


def oauth_settings(
    client_id: str, client_secret: str, store: AsyncInstallationStore
) -> AsyncOAuthSettings:
    return AsyncOAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        scopes=list(BOT_SCOPES),
        installation_store=store,
        installation_store_bot_only=True,
        state_store=StatelessOAuthStateStore(
            expiration_seconds=STATE_SECONDS, signing_secret=client_secret, logger=log
        ),
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
    )


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


@dataclass
class OAuth:
    """What the adapter needs for OAuth installs; `close` releases the database."""

    settings: AsyncOAuthSettings
    store: DatabaseInstallationStore
    engine: AsyncEngine

    async def close(self) -> None:
        await self.engine.dispose()


def open_oauth(client_id: str, client_secret: str, database_url: str) -> OAuth:
    engine = make_engine(database_url)
    store = DatabaseInstallationStore(SlackInstallations(engine))
    return OAuth(oauth_settings(client_id, client_secret, store), store, engine)
