"""Operating `payforward run` with Slack: one HTTP listener in either mode (health,
readiness, metrics, Slack's routes), connecting with backoff, and stopping at once,
connected or not. In process against the fake Slack, and as a real subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import aiohttp.web

from bot.clock import SystemClock
from payforward import bootstrap
from payforward.http import HttpServer
from tests.adapters.slack import payloads
from tests.adapters.slack.conftest import SECRET, settings_for, sign
from tests.adapters.slack.fake_slack import FakeSlack
from tests.adapters.test_cli import PLATFORM_VARIABLES, payforward_command


@asynccontextmanager
async def running(
    tmp_path: Path,
    fake: FakeSlack,
    mode: str,
    mount: bootstrap.Mount | None = None,
    **overrides: Any,
) -> AsyncIterator[tuple[HttpServer, asyncio.Task[None], asyncio.Event]]:
    settings = settings_for(tmp_path, fake, mode, **overrides)
    await bootstrap.migrate(settings)
    server = HttpServer("127.0.0.1", 0)
    stop = asyncio.Event()
    task = asyncio.create_task(
        bootstrap.run_platforms(settings, SystemClock(), stop, server=server, mount=mount)
    )
    try:
        async with asyncio.timeout(10):
            while server.port == 0 and not task.done():  # noqa: ASYNC110 - polls a port
                await asyncio.sleep(0.01)
        yield server, task, stop
    finally:
        stop.set()
        async with asyncio.timeout(30):
            await task


async def get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text(), response.headers.get("Content-Type", "")


async def until_ready(server: HttpServer, within: float = 20.0) -> str:
    async with asyncio.timeout(within):
        while True:
            status, text, _ = await get(server.url + "/readyz")
            if status == 200:
                return text
            await asyncio.sleep(0.05)


async def test_socket_mode_serves_health_readiness_and_metrics(
    tmp_path: Path, fake: FakeSlack
) -> None:
    async with running(tmp_path, fake, "socket") as (server, _, _):
        assert (await get(server.url + "/healthz"))[:2] == (200, "ok\n")
        assert await until_ready(server) == "ready\n"
        await fake.wait_for_socket()
        payload = payloads.slash("T1", "U1", "/ask", "How do I profile?", fake.response_url(), "C1")
        await fake.wait_for_ack(await fake.push("slash_commands", payload))
        await fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == "C1")

        status, text, content_type = await get(server.url + "/metrics")

    assert status == 200 and content_type.startswith("text/plain")
    assert 'payforward_events_handled_total{kind="CommandInvoked",outcome="ok"} 1.0' in text
    assert 'payforward_event_handling_seconds_count{kind="CommandInvoked"} 1.0' in text
    assert re.search(
        r'payforward_deliveries_total\{outcome="delivered",platform="slack",priority="now"\} [1-9]',
        text,
    )
    assert 'payforward_adapter_connected{platform="slack"} 1.0' in text


async def test_slack_answers_while_discord_cannot_connect(
    tmp_path: Path, fake: FakeSlack, caplog: Any
) -> None:
    """Both platforms configured, Discord unreachable: Slack's cards go out as soon as
    Slack is connected, not once every platform is."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    unreachable = {
        "discord_token": "a.discord.token",
        "discord_api_url": f"http://127.0.0.1:{closed}/api/v10",
    }
    async with running(tmp_path, fake, "socket", **unreachable) as (server, _, _):
        await fake.wait_for_socket()
        payload = payloads.slash("T1", "U1", "/ask", "How do I profile?", fake.response_url(), "C1")
        await fake.wait_for_ack(await fake.push("slash_commands", payload))
        await fake.wait_for("chat.postMessage", lambda c: c.args.get("channel") == "C1")
        status, text, _ = await get(server.url + "/readyz")
    assert (status, text) == (503, "not ready: discord not connected\n")
    failures = [r.getMessage() for r in caplog.records if "could not connect" in r.getMessage()]
    assert failures and all(m.startswith("Discord") for m in failures), failures


async def test_http_mode_mounts_slack_on_the_same_listener(tmp_path: Path, fake: FakeSlack) -> None:
    async with running(tmp_path, fake, "http") as (server, _, _):
        await until_ready(server)
        body = urllib.parse.urlencode(
            payloads.slash("T1", "U1", "/payforward", "help", fake.response_url(), "C1")
        )
        timestamp = int(__import__("time").time())
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": sign(body, timestamp, SECRET),
        }
        async with (
            aiohttp.ClientSession() as http,
            http.post(server.url + "/slack/events", data=body, headers=headers) as answer,
        ):
            assert answer.status == 200
            assert "/payforward" in json.dumps(await answer.json())
        forged = {**headers, "X-Slack-Signature": "v0=" + "0" * 64}
        async with (
            aiohttp.ClientSession() as http,
            http.post(server.url + "/slack/events", data=body, headers=forged) as answer,
        ):
            assert answer.status == 401
        assert (await get(server.url + "/healthz"))[0] == 200


async def test_a_refused_app_token_is_not_ready_and_stops_at_once(
    tmp_path: Path, fake: FakeSlack, caplog: Any
) -> None:
    fake.app_token = "xapp-the-right-one"
    async with running(tmp_path, fake, "socket") as (server, task, stop):
        await fake.wait_for("apps.connections.open")
        status, text, _ = await get(server.url + "/readyz")
        assert status == 503
        assert text == "not ready: slack not connected\n"
        assert (await get(server.url + "/healthz"))[0] == 200
        stop.set()
        async with asyncio.timeout(10):  # a bound for a hung test, not a speed claim
            await task
    failures = [r for r in caplog.records if "could not connect" in r.getMessage()]
    assert failures, caplog.text
    assert "invalid_auth" in failures[0].getMessage()
    assert all(r.exc_info is None for r in caplog.records)


def run_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PLATFORM_VARIABLES}
    env |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'payforward.db'}",
        "LOG_LEVEL": "INFO",
        "PAYFORWARD_HTTP_PORT": "0",
    }
    return env | extra


async def test_sigterm_stops_run_while_socket_mode_keeps_being_refused(
    tmp_path: Path, fake: FakeSlack
) -> None:
    """The newcomer's case: a wrong app token. One short line per attempt, with growing
    pauses; SIGTERM ends the process with no traceback."""
    fake.app_token = "xapp-the-right-one"
    env = run_env(
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_APP_TOKEN="xapp-a-wrong-one",
        SLACK_API_URL=fake.api_url,
    )
    process = await asyncio.create_subprocess_exec(
        *payforward_command(),
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await fake.wait_for("apps.connections.open", count=2, within=30)
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):  # a bound for a hung test, not a speed claim
            _, err = await process.communicate()
    log = err.decode()
    assert process.returncode == 0, log
    assert "Traceback" not in log
    attempts = re.findall(r"Slack: could not connect \((.*)\); attempt (\d+), next in (\S+) s", log)
    assert len(attempts) >= 2, log
    assert all("invalid_auth" in reason for reason, _, _ in attempts)
    pauses = [float(pause) for _, _, pause in attempts]
    assert pauses == sorted(pauses) and pauses[1] > pauses[0]
    assert "xapp-a-wrong-one" not in log and "xoxb-test-token" not in log


async def test_other_parts_mount_routes_on_the_same_listener(
    tmp_path: Path, fake: FakeSlack
) -> None:
    """How the dashboard joins: `mount` gets the application and the core before the
    listener starts."""
    seen: list[bootstrap.Core] = []

    async def hello(request: aiohttp.web.Request) -> aiohttp.web.Response:
        return aiohttp.web.Response(text="hello")

    def mount(app: aiohttp.web.Application, core: bootstrap.Core) -> None:
        seen.append(core)
        app.router.add_get("/hello", hello)

    async with running(tmp_path, fake, "http", mount=mount) as (server, _, _):
        await until_ready(server)
        assert (await get(server.url + "/hello"))[:2] == (200, "hello")
    assert len(seen) == 1
