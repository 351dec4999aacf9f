"""What an operator sees when something is off: one line and an exit code, never a
traceback; and the small commands they reach for (`--version`, `slack manifest --url`)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

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
        ({"DATABASE_URL": "sqlite:////proc/x.db"}, ["db", "upgrade"], 1, "cannot open"),
        (
            {"DATABASE_URL": "postgresql://pf:secret@127.0.0.1:1/pf"},
            ["run"],
            1,
            "cannot open the database postgresql://pf:***@127.0.0.1:1/pf",
        ),
        (
            {"DATABASE_URL": "postgresql://pf:secret@127.0.0.1:1/pf"},
            ["db", "upgrade"],
            1,
            "cannot open the database",
        ),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1"},
            ["run"],
            2,
            "neither SLACK_APP_TOKEN (Socket Mode) nor SLACK_SIGNING_SECRET (HTTP mode)",
        ),
        ({"SLACK_APP_TOKEN": "xapp-1"}, ["run"], 2, "SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN"),
        (
            {"SLACK_SIGNING_SECRET": "s"},
            ["run"],
            2,
            "SLACK_SIGNING_SECRET is set but SLACK_BOT_TOKEN is not",
        ),
        ({"DISCORD_GUILD_IDS": "abc"}, ["run"], 2, "DISCORD_GUILD_IDS: must be comma-separated"),
        ({"DISCORD_SHARD_IDS": "1"}, ["run"], 2, "DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT"),
        (
            {"DISCORD_SHARD_IDS": "2", "DISCORD_SHARD_COUNT": "2"},
            ["run"],
            2,
            "not below DISCORD_SHARD_COUNT 2",
        ),
        ({"LOG_FORMAT": "xml"}, ["run"], 2, "LOG_FORMAT must be text or json"),
    ],
)
def test_configuration_errors_are_one_line_and_an_exit_code(
    tmp_path: Path, env: dict[str, str], args: list[str], code: int, says: str
) -> None:
    result = payforward(tmp_path, *args, env=env)

    assert result.returncode == code, result.stderr
    assert says in one_line(result)
    assert result.stdout == ""  # the console never started
    assert "secret" not in result.stderr


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
