"""Configuration from the environment and `.env`, the variables DESIGN.md promises.

Tokens are `SecretStr`, so printing or logging the settings never shows them, and an
empty variable (`SLACK_BOT_TOKEN=` left in a `.env`) counts as unset rather than as a
token that fails at connect time. Each setting is read under one name only, the one
the README documents (no `HTTP_PORT` beside `PAYFORWARD_HTTP_PORT`).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from storage.db import async_url

DEFAULT_DATABASE_URL = "sqlite:///payforward.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    # repr=False: a PostgreSQL URL may carry a password.
    database_url: str = Field(default=DEFAULT_DATABASE_URL, repr=False)
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None  # set: Socket Mode; unset: HTTP mode
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str | None = None
    http_host: str = Field(default="127.0.0.1", validation_alias="PAYFORWARD_HTTP_HOST")
    http_port: int = Field(default=3000, ge=0, le=65535, validation_alias="PAYFORWARD_HTTP_PORT")
    # Where members reach the listener (behind a proxy: its https address); the
    # dashboard's sign-in links point there. Unset: http://HOST:PORT.
    public_url: str | None = Field(default=None, validation_alias="PAYFORWARD_PUBLIC_URL")
    slack_client_id: str | None = None  # with the secret: multi-workspace OAuth install (HTTP mode)
    slack_client_secret: SecretStr | None = None
    discord_token: SecretStr | None = None
    discord_application_id: str | None = None  # for `payforward discord invite-url`
    discord_guild_ids: str | None = None  # comma-separated: sync commands per guild (fast)
    discord_shard_count: int | None = Field(default=None, ge=1)
    discord_shard_ids: str | None = None  # comma-separated: this process's shards only
    discord_api_url: str | None = None
    discord_gateway_url: str | None = None
    # The outbox's rate budgets, in sends a second (0: no limit of ours): Slack per
    # workspace for chat.postMessage and chat.update and per channel; Discord for
    # bulk work (prompts, cups) only, below its global limit. See adapters/*/limits.py.
    slack_post_rate: float = Field(
        default=10.0, ge=0, validation_alias="PAYFORWARD_SLACK_POST_RATE"
    )
    slack_update_rate: float = Field(
        default=0.8, ge=0, validation_alias="PAYFORWARD_SLACK_UPDATE_RATE"
    )
    slack_channel_rate: float = Field(
        default=1.0, ge=0, validation_alias="PAYFORWARD_SLACK_CHANNEL_RATE"
    )
    discord_bulk_rate: float = Field(
        default=20.0, ge=0, validation_alias="PAYFORWARD_DISCORD_BULK_RATE"
    )
    log_level: str = "INFO"
    log_format: str = "text"  # or "json", one object a line, for log shippers

    @field_validator(
        "slack_bot_token",
        "slack_app_token",
        "slack_signing_secret",
        "slack_api_url",
        "slack_client_id",
        "slack_client_secret",
        "discord_token",
        "discord_application_id",
        "discord_guild_ids",
        "discord_api_url",
        "discord_gateway_url",
        "discord_shard_count",
        "discord_shard_ids",
        "public_url",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _known_level(cls, value: object) -> object:
        level = str(value).strip().upper()
        if level not in logging.getLevelNamesMapping():
            raise ValueError(f"LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR; not {value!r}")
        return level

    @field_validator("log_format", mode="before")
    @classmethod
    def _known_format(cls, value: object) -> object:
        fmt = str(value).strip().lower() or "text"
        if fmt not in ("text", "json"):
            raise ValueError(f"LOG_FORMAT must be text or json; not {value!r}")
        return fmt

    @field_validator("discord_guild_ids", "discord_shard_ids")
    @classmethod
    def _id_list(cls, value: str | None) -> str | None:
        if value is not None and not all(part.isdigit() for part in _parts(value)):
            raise ValueError(f"must be comma-separated numbers, e.g. 123,456; not {value!r}")
        return value

    @field_validator("database_url", mode="before")
    @classmethod
    def _blank_is_default(cls, value: object) -> object:
        return DEFAULT_DATABASE_URL if isinstance(value, str) and not value.strip() else value

    @field_validator("database_url")
    @classmethod
    def _parsable_url(cls, value: str) -> str:
        try:
            make_url(async_url(value))
        except ArgumentError:
            raise ValueError("DATABASE_URL is not a database URL") from None
        # async_url's ValueError names the two supported schemes (never the URL itself,
        # which may hold a password).
        return value

    @model_validator(mode="after")
    def _shards_in_range(self) -> Settings:
        if self.discord_shard_ids is None:
            return self
        if self.discord_shard_count is None:
            raise ValueError(
                "DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT (the total over all processes)"
            )
        outside = [i for i in self.shard_ids() if i >= self.discord_shard_count]
        if outside:
            raise ValueError(
                f"DISCORD_SHARD_IDS {outside} are not below DISCORD_SHARD_COUNT "
                f"{self.discord_shard_count} (shards are numbered from 0)"
            )
        return self

    def guild_ids(self) -> list[int]:
        return [int(part) for part in _parts(self.discord_guild_ids or "")]

    def shard_ids(self) -> list[int]:
        """This process's Discord shards; empty: all of DISCORD_SHARD_COUNT."""
        return [int(part) for part in _parts(self.discord_shard_ids or "")]

    @field_validator("public_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise ValueError(
                "PAYFORWARD_PUBLIC_URL must be an http(s) address like https://pf.example.com"
            )
        return value.strip().rstrip("/")

    @property
    def dashboard_url(self) -> str:
        """PAYFORWARD_PUBLIC_URL, or the listener's own address when it is unset."""
        if self.public_url:
            return self.public_url
        host = f"[{self.http_host}]" if ":" in self.http_host else self.http_host
        return f"http://{host}:{self.http_port}"

    @property
    def slack_oauth(self) -> bool:
        """Multi-workspace installs: the app's client id and secret, in HTTP mode."""
        return bool(
            self.slack_client_id and self.slack_client_secret and self.slack_app_token is None
        )

    @property
    def slack_enabled(self) -> bool:
        """A bot token, or OAuth installs (each workspace's token then comes from the
        installation store)."""
        return self.slack_bot_token is not None or (
            self.slack_oauth and self.slack_signing_secret is not None
        )

    @property
    def slack_socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def discord_enabled(self) -> bool:
        return self.discord_token is not None

    @property
    def database_url_for_display(self) -> str:
        """DATABASE_URL with any password masked, fit for logs and messages."""
        return make_url(self.database_url).render_as_string(hide_password=True)


def _parts(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]
