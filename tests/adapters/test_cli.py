"""The `payforward` command as operators and scripts run it: a real subprocess, a real
database file, stdout as the transcript and stderr as the log."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from payforward.settings import Settings

DEMO = (
    "/ask How do I profile asyncio code?\n"
    ":as bob\n"
    ":react 1 🙋\n"
    ":as alice\n"
    "/thanks @bob for the py-spy tip\n"
    ":as carol\n"
    "/payforward leaderboard\n"
)
PLATFORM_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "DISCORD_TOKEN",
)


def payforward_command() -> list[str]:
    script = Path(sys.executable).with_name("payforward")
    return [str(script)] if script.exists() else [sys.executable, "-m", "payforward"]


def payforward(
    tmp_path: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in `tmp_path` (so no stray `.env` is read) on a database there."""
    environment = {k: v for k, v in os.environ.items() if k not in PLATFORM_VARIABLES}
    environment |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'payforward.db'}", "LOG_LEVEL": "INFO"}
    environment |= env or {}
    return subprocess.run(
        [*payforward_command(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,
        env=environment,
        timeout=60,
    )


def blocks(output: str) -> dict[str, list[str]]:
    """Block bodies by header, in order."""
    found: dict[str, list[str]] = {}
    for chunk in output.split("\n\n"):
        lines = [line for line in chunk.splitlines() if not re.match(r"^\w+> ", line)]
        if lines and lines[0].startswith("["):
            found.setdefault(lines[0], []).append("\n".join(lines[1:]))
    return found


def test_a_piped_console_session_reads_as_a_transcript(tmp_path: Path) -> None:
    result = payforward(tmp_path, "console", "--as", "alice", stdin=DEMO)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.startswith("alice> /ask How do I profile asyncio code?\n")
    printed = blocks(result.stdout)
    assert any("#1" in card for card in printed["[#general]"])
    assert any("@bob" in dm for dm in printed["[DM @alice]"])
    (board,) = printed["[only @carol]"]
    assert re.search(r"^.*1.*@bob", board, re.MULTILINE)


def test_run_without_credentials_says_so_in_one_line_and_starts_the_console(
    tmp_path: Path,
) -> None:
    result = payforward(tmp_path, "run", stdin="/payforward help\n")

    assert result.returncode == 0, result.stderr
    (notice,) = result.stderr.splitlines()
    assert "console" in notice
    assert "SLACK_BOT_TOKEN" in notice
    assert "DISCORD_TOKEN" in notice
    assert result.stdout.startswith("you> /payforward help\n[only @you]\n")
    assert (tmp_path / "payforward.db").exists()


def test_db_upgrade_migrates_and_says_so(tmp_path: Path) -> None:
    result = payforward(tmp_path, "db", "upgrade")

    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    assert (tmp_path / "payforward.db").exists()


def test_console_clock_starts_where_told(tmp_path: Path) -> None:
    result = payforward(
        tmp_path, "console", "--clock", "2025-01-06T09:00:00+01:00", stdin=":clock +1h\n"
    )

    assert result.returncode == 0, result.stderr
    assert "The clock is now Mon 2025-01-06 09:00 UTC." in result.stdout


@pytest.mark.parametrize("instant", ["2025-01-06T09:00:00", "next monday"])
def test_console_clock_needs_an_instant_with_a_timezone(tmp_path: Path, instant: str) -> None:
    result = payforward(tmp_path, "console", "--clock", instant)

    assert result.returncode == 2
    assert "--clock" in result.stderr


def test_bad_configuration_names_the_variable(tmp_path: Path) -> None:
    result = payforward(tmp_path, "db", "upgrade", env={"LOG_LEVEL": "chatty"})

    assert result.returncode == 2
    assert "LOG_LEVEL" in result.stderr
    assert "Traceback" not in result.stderr


# Settings.


def test_blank_credentials_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "")
    monkeypatch.setenv("DISCORD_TOKEN", "  ")

    settings = Settings(_env_file=None)

    assert not settings.slack_enabled
    assert not settings.discord_enabled


def test_oauth_installs_alone_enable_slack_in_http_mode() -> None:
    oauth = {
        "slack_client_id": "123.456",
        "slack_client_secret": "client-secret",
        "slack_signing_secret": "signing-secret",
    }

    assert Settings(_env_file=None, **oauth).slack_enabled  # type: ignore[arg-type]
    without_secret = oauth | {"slack_signing_secret": None}
    assert not Settings(_env_file=None, **without_secret).slack_enabled  # type: ignore[arg-type]
    socket = oauth | {"slack_app_token": "xapp-1"}
    assert not Settings(_env_file=None, **socket).slack_oauth  # type: ignore[arg-type]


def test_settings_read_the_documented_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "SLACK_BOT_TOKEN": "xoxb-secret",
        "SLACK_APP_TOKEN": "xapp-secret",
        "PAYFORWARD_HTTP_HOST": "0.0.0.0",
        "PAYFORWARD_HTTP_PORT": "3100",
        "DISCORD_TOKEN": "discord-secret",
        "DISCORD_API_URL": "http://127.0.0.1:9100/api/v10",
        "LOG_LEVEL": "debug",
    }.items():
        monkeypatch.setenv(name, value)

    settings = Settings(_env_file=None)

    assert settings.slack_enabled and settings.slack_socket_mode and settings.discord_enabled
    assert (settings.http_host, settings.http_port) == ("0.0.0.0", 3100)
    assert settings.discord_api_url == "http://127.0.0.1:9100/api/v10"
    assert settings.log_level == "DEBUG"
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-secret"


def test_settings_never_print_secrets(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        database_url="postgresql://payforward:db-password@db/payforward",
        slack_bot_token="xoxb-secret",
        discord_token="discord-secret",
    )

    shown = f"{settings!r} {settings} {settings.database_url_for_display}"
    for secret in ("db-password", "xoxb-secret", "discord-secret"):
        assert secret not in shown


def test_settings_read_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("DATABASE_URL=sqlite:///from-dotenv.db\n")

    assert Settings().database_url == "sqlite:///from-dotenv.db"


def test_env_example_loads_as_a_dotenv_file() -> None:
    """Copying .env.example to .env must give a working configuration: blanks are unset."""
    example = Path(__file__).resolve().parents[2] / ".env.example"
    settings = Settings(_env_file=example)  # type: ignore[call-arg]
    assert not settings.slack_enabled and not settings.discord_enabled
    assert settings.discord_shard_count is None
    assert settings.database_url == "sqlite:///payforward.db"


def test_a_blank_database_url_means_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "")
    assert Settings(_env_file=None).database_url == "sqlite:///payforward.db"  # type: ignore[call-arg]


SCHEDULED = (
    "/ask How do I profile asyncio code?\n"
    ":as bob\n"
    ":react 1 🙋\n"
    ":clock +2d\n"
    ":as alice\n"
    "/thanks @bob for the py-spy tip\n"
    ":clock +3d\n"
    ":clock +2d\n"
    ":clock +7d\n"
)


def test_clock_steps_run_reminders_prompts_and_weekly_posts_in_order(tmp_path: Path) -> None:
    result = payforward(
        tmp_path,
        "console",
        "--as",
        "alice",
        "--clock",
        "2026-11-24T10:00:00+00:00",
        stdin=SCHEDULED,
    )

    assert result.returncode == 0, result.stderr
    out = result.stdout
    printed = blocks(out)
    assert any("Did you connect with @alice about #1" in dm for dm in printed["[DM @bob]"])
    assert any("@bob offered to help. Did it help?" in dm for dm in printed["[DM @alice]"])
    prompts = [dm for dm in printed["[DM @bob]"] if "What have you shared lately" in dm]
    assert len(prompts) == 2  # two Fridays
    posts = [post for post in printed["[#general]"] if "Pay-it-forward week" in post]
    assert len(posts) == 2
    assert "23–29 Nov 2026" in posts[0] and "1. @bob" in posts[0]
    assert "30 Nov – 6 Dec 2026" in posts[1] and "A quiet week" in posts[1]
    # Each moment is headed by its time, in order.
    moments = re.findall(r"^⏰ (.+) UTC$", out, re.MULTILINE)
    assert moments[:3] == ["Thu 2026-11-26 10:00", "Fri 2026-11-27 15:00", "Sun 2026-11-29 10:00"]
    assert "Mon 2026-11-30 09:00" in moments and "Mon 2026-12-07 09:00" in moments
    assert out.index("⏰ Mon 2026-11-30 09:00") < out.index("23–29 Nov 2026")


def test_jobs_run_twice_at_once_posts_once(tmp_path: Path) -> None:
    setup = payforward(
        tmp_path,
        "console",
        "--as",
        "alice",
        "--clock",
        "2026-11-24T10:00:00+00:00",
        stdin="/ask Anyone know py-spy?\n:as bob\n:react 1 🙋\n:as alice\n/thanks @bob\n",
    )
    assert setup.returncode == 0, setup.stderr
    environment = {k: v for k, v in os.environ.items() if k not in PLATFORM_VARIABLES}
    environment |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'payforward.db'}"}
    command = [*payforward_command(), "jobs", "run", "leaderboard", "--at", "2026-11-30T09:00:00Z"]
    runs = [
        subprocess.Popen(
            command,
            cwd=tmp_path,
            env=environment,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=60) for run in runs]

    assert [run.returncode for run in runs] == [0, 0], [err for _, err in outputs]
    said = sorted(out.strip() for out, _ in outputs)
    assert said == [
        "console:local  leaderboard 2026-11-23: already done, or under way elsewhere",
        "console:local  leaderboard 2026-11-23: done",
    ]
    with sqlite3.connect(tmp_path / "payforward.db") as db:
        queued = db.execute(
            "SELECT count(*) FROM outbox WHERE message LIKE '%Pay-it-forward week%'"
        ).fetchone()[0]
    assert queued == 1


def test_jobs_run_names_the_jobs(tmp_path: Path) -> None:
    result = payforward(tmp_path, "jobs", "run", "payday")

    assert result.returncode == 2
    assert "leaderboard" in result.stderr and "Traceback" not in result.stderr
