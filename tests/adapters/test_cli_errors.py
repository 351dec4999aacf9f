"""What an operator sees when something is off: one line and an exit code, never a
traceback; and the small commands they reach for (`--version`, `slack manifest --url`)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from payforward.checks import platform_problems
from payforward.cli import OneLine, _load_settings
from payforward.settings import Settings
from tests.adapters.test_cli import payforward


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("payforward: ")
    return line


@pytest.mark.parametrize(
    ("env", "args", "code", "says"),
    [
        ({"DATABASE_URL": "mysql://x"}, ["run"], 2, "DATABASE_URL: unsupported database URL"),
        ({"DATABASE_URL": "sqlite:////proc/x.db"}, ["run"], 1, "cannot open the database"),
        (
            {"DATABASE_URL": "postgresql://pf:secret@127.0.0.1:1/pf"},
            ["db", "upgrade"],
            1,
            "cannot open the database postgresql://pf:***@127.0.0.1:1/pf",
        ),
        ({"SLACK_APP_TOKEN": "xapp-1"}, ["run"], 2, "SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN"),
    ],
)
def test_configuration_errors_are_one_line_and_an_exit_code(
    tmp_path: Path, env: dict[str, str], args: list[str], code: int, says: str
) -> None:
    """One of each kind through the real command: a setting, a database, a platform."""
    result = payforward(tmp_path, *args, env=env)

    assert result.returncode == code, result.stderr
    assert says in one_line(result)
    assert result.stdout == ""  # the console never started
    assert "secret" not in result.stderr


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL: unsupported database URL scheme 'mysql'"),
        ({"DISCORD_GUILD_IDS": "abc"}, "DISCORD_GUILD_IDS: must be comma-separated numbers"),
        ({"DISCORD_SHARD_IDS": "1"}, "DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT"),
        (
            {"DISCORD_SHARD_IDS": "2", "DISCORD_SHARD_COUNT": "2"},
            "DISCORD_SHARD_IDS [2] are not below DISCORD_SHARD_COUNT 2",
        ),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT: LOG_FORMAT must be text or json"),
        ({"LOG_LEVEL": "verbose"}, "LOG_LEVEL: LOG_LEVEL must be one of DEBUG"),
    ],
)
def test_bad_settings_are_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str], says: str
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(OneLine) as refused:
        _load_settings()

    assert refused.value.exit_code == 2
    assert says in refused.value.format_message()
    assert "\n" not in refused.value.format_message()


@pytest.mark.parametrize(
    ("values", "says"),
    [
        (
            {"slack_bot_token": "xoxb-1"},
            "SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN (Socket Mode) nor "
            "SLACK_SIGNING_SECRET (HTTP mode): set one of them",
        ),
        ({"slack_app_token": "xapp-1"}, "SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is not"),
        ({"slack_signing_secret": "s"}, "SLACK_SIGNING_SECRET is set but SLACK_BOT_TOKEN is not"),
        ({"slack_client_id": "1.2"}, "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together"),
        ({"discord_guild_ids": "1"}, "DISCORD_GUILD_IDS set but DISCORD_TOKEN is not"),
    ],
)
def test_incomplete_platform_credentials_say_what_is_missing(
    values: dict[str, str], says: str
) -> None:
    settings = Settings(_env_file=None, **values)  # type: ignore[arg-type]

    assert says in " | ".join(platform_problems(settings))


@pytest.mark.parametrize(
    "values",
    [
        {"slack_bot_token": "x", "slack_app_token": "y"},
        {"slack_bot_token": "x", "slack_signing_secret": "y"},
        {"slack_client_id": "1", "slack_client_secret": "2", "slack_signing_secret": "3"},
        {"discord_token": "t", "discord_shard_count": "2", "discord_shard_ids": "0"},
        {},
    ],
)
def test_complete_credentials_pass(values: dict[str, str]) -> None:
    assert platform_problems(Settings(_env_file=None, **values)) == []  # type: ignore[arg-type]


def test_a_listener_that_cannot_bind_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = payforward(
            tmp_path,
            "run",
            env={"DISCORD_TOKEN": "t", "PAYFORWARD_HTTP_PORT": str(port)},
        )

    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in one_line(result)


def test_help_wins_over_a_bad_setting(tmp_path: Path) -> None:
    result = payforward(tmp_path, "run", "--help", env={"LOG_LEVEL": "verbose"})

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: payforward run")
    assert result.stderr == ""


def test_version(tmp_path: Path) -> None:
    result = payforward(tmp_path, "--version")

    assert result.returncode == 0
    assert result.stdout.startswith("payforward, version ")


def test_http_mode_manifest_from_the_command_line(tmp_path: Path) -> None:
    result = payforward(tmp_path, "slack", "manifest", "--url", "https://pf.example.com/")

    assert result.returncode == 0, result.stderr
    manifest = json.loads(result.stdout)
    assert manifest["settings"]["socket_mode_enabled"] is False
    assert manifest["settings"]["event_subscriptions"]["request_url"] == (
        "https://pf.example.com/slack/events"
    )
    assert manifest["oauth_config"]["redirect_urls"] == [
        "https://pf.example.com/slack/oauth_redirect"
    ]
    refused = payforward(tmp_path, "slack", "manifest", "--url", "http://pf.example.com")
    assert refused.returncode == 2 and "https" in refused.stderr


def test_json_logs_are_one_object_a_line(tmp_path: Path) -> None:
    logged = payforward(tmp_path, "db", "upgrade", env={"LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG"})

    assert logged.returncode == 0, logged.stderr
    entries = [json.loads(line) for line in logged.stderr.splitlines()]
    assert entries, "at DEBUG, Alembic says what it runs"
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)


@pytest.mark.parametrize(
    ("alias", "value"),
    [("HTTP_PORT", "4000"), ("HTTP_HOST", "0.0.0.0")],
)
def test_one_name_per_setting(monkeypatch: pytest.MonkeyPatch, alias: str, value: str) -> None:
    monkeypatch.setenv(alias, value)

    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 3000)


def test_make_run_says_who_you_are_in_the_console(tmp_path: Path) -> None:
    result = payforward(tmp_path, "run", stdin=":as alice\n/payforward help\n")

    assert result.returncode == 0, result.stderr
    (notice,) = result.stderr.splitlines()
    assert "you speak as `you`, its admin" in notice and "`:as alice`" in notice
    assert result.stdout.startswith("you> :as alice\nalice> /payforward help\n")


def test_invite_url_without_the_application_id_is_one_line(tmp_path: Path) -> None:
    result = payforward(tmp_path, "discord", "invite-url")

    assert result.returncode == 2
    assert "set DISCORD_APPLICATION_ID" in one_line(result)
