"""Operating `payforward run` on Discord: stopping while Discord does not answer,
readiness while connecting, and shards split across processes on one database."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import aiohttp
from aiohttp import web

from tests.adapters.discord.conftest import (
    ALICE,
    GENERAL,
    GUILD,
    OTHER_GENERAL,
    OTHER_GUILD,
    Harness,
)
from tests.adapters.discord.fake_discord import TOKEN, FakeDiscord, text_of
from tests.adapters.test_cli import PLATFORM_VARIABLES, payforward_command

LISTENING = re.compile(r"HTTP: listening on (http://\S+)")


def run_env(database: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PLATFORM_VARIABLES}
    env |= {
        "DATABASE_URL": f"sqlite:///{database}",
        "LOG_LEVEL": "INFO",
        "PAYFORWARD_HTTP_PORT": "0",
        "DISCORD_TOKEN": TOKEN,
    }
    return env | extra


class Process:
    """`payforward run` in a subprocess, its log read as it comes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.log: list[str] = []
        self._reading = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for line in self.process.stderr:
            self.log.append(line.decode())

    async def url(self, within: float = 30.0) -> str:
        async with asyncio.timeout(within):
            while True:
                for line in self.log:
                    if found := LISTENING.search(line):
                        return found.group(1)
                await asyncio.sleep(0.02)

    async def terminate(self, within: float = 30.0) -> str:
        """SIGTERM; the log once the process has exited (a bound for a hung test)."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(within):
            await self.process.wait()
            await self._reading
        return "".join(self.log)


@asynccontextmanager
async def payforward_run(env: dict[str, str], cwd: Path) -> AsyncIterator[Process]:
    process = Process(
        await asyncio.create_subprocess_exec(
            *payforward_command(),
            "run",
            cwd=cwd,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
    )
    try:
        yield process
    finally:
        if process.process.returncode is None:
            with suppress(TimeoutError):
                await process.terminate()
            if process.process.returncode is None:
                process.process.kill()


@asynccontextmanager
async def silent_discord() -> AsyncIterator[tuple[str, asyncio.Event]]:
    """An endpoint that accepts every request and never answers."""
    asked = asyncio.Event()
    never = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        asked.set()
        await never.wait()
        return web.Response(status=500)

    app = web.Application()
    app.router.add_route("*", "/{path:.*}", hang)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", asked
    finally:
        never.set()
        await runner.cleanup()


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text()


async def until_ready(url: str, within: float = 30.0) -> str:
    async with asyncio.timeout(within):
        while True:
            status, text = await get(url + "/readyz")
            if status == 200:
                return text
            await asyncio.sleep(0.05)


async def test_sigterm_stops_run_while_discord_accepts_and_never_answers(tmp_path: Path) -> None:
    async with silent_discord() as (base, asked):
        env = run_env(
            tmp_path / "payforward.db",
            DISCORD_API_URL=f"{base}/api/v10",
            DISCORD_GATEWAY_URL=base.replace("http", "ws") + "/gateway",
        )
        async with payforward_run(env, tmp_path) as run:
            url = await run.url()
            async with asyncio.timeout(30):
                await asked.wait()
            assert await get(url + "/healthz") == (200, "ok\n")
            assert await get(url + "/readyz") == (503, "not ready: discord not connected\n")
            log = await run.terminate()
    assert run.process.returncode == 0, log
    assert "Traceback" not in log


async def test_two_processes_split_the_shards_on_one_database(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    """DISCORD_SHARD_COUNT=2 over two processes, one shard each: every server is served
    by the process that holds its shard, and both share one database."""
    database = tmp_path / "payforward.db"
    common = {
        "DISCORD_API_URL": fake.api_url,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "DISCORD_SHARD_COUNT": "2",
    }
    first = run_env(database, DISCORD_SHARD_IDS="0", **common)
    second = run_env(database, DISCORD_SHARD_IDS="1", **common)
    async with payforward_run(first, tmp_path) as one, payforward_run(second, tmp_path) as two:
        await fake.wait_connected(sessions=2, within=60)
        assert sorted(s.shard for s in fake.sessions.values()) == [(0, 2), (1, 2)]
        assert fake.identifies == 2  # each process identified its own shard only
        for guild, channel, text in (
            (GUILD, GENERAL, "Asked in the first server"),
            (OTHER_GUILD, OTHER_GENERAL, "Asked in the second server"),
        ):
            asked = await fake.command(
                guild, channel, ALICE, "ask", [{"type": 3, "name": "text", "value": text}]
            )
            reply = await fake.answer(asked, within=30)
            assert "Your ask is up as #1" in text_of(reply["data"])  # numbered per server
        for run in (one, two):  # ready once its shard's servers have arrived
            assert await until_ready(await run.url()) == "ready\n"
        logs = [await one.terminate(), await two.terminate()]
    assert [one.process.returncode, two.process.returncode] == [0, 0], logs
    assert all("Traceback" not in log for log in logs)


async def test_connected_follows_the_gateway(bot: Harness) -> None:
    """/readyz asks the adapter: connected while the websocket is open, again after a
    resume, not while the gateway is gone, and not once stopped."""
    assert bot.adapter.connected

    await bot.fake.drop()
    await bot.fake.wait_until(lambda: bot.fake.resumes >= 1, 30)
    async with asyncio.timeout(30):
        while not bot.adapter.connected:  # noqa: ASYNC110 - discord.py resumes on its own
            await asyncio.sleep(0.01)

    await bot.fake.close()  # Discord away: discord.py keeps retrying meanwhile
    async with asyncio.timeout(30):
        while bot.adapter.connected:  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    await bot.adapter.stop()
    assert not bot.adapter.connected
