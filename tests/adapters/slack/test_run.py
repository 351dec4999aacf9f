"""`payforward run` as operators start it: a real subprocess in HTTP mode against the fake
Slack, configured only through the environment DESIGN.md promises."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import time
import urllib.parse
from pathlib import Path

import aiohttp

from storage.db import make_engine
from storage.uow import unit_of_work_factory
from tests.adapters.slack import payloads
from tests.adapters.slack.conftest import SECRET, in_channel, sign
from tests.adapters.slack.fake_slack import FakeSlack
from tests.adapters.test_cli import PLATFORM_VARIABLES, payforward_command


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_listening(
    port: int, process: asyncio.subprocess.Process, within: float = 30.0
) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if process.returncode is not None or time.monotonic() > deadline:
                raise AssertionError("payforward run never listened") from None
            await asyncio.sleep(0.05)
        else:
            writer.close()
            await writer.wait_closed()
            return


async def signed(
    session: aiohttp.ClientSession,
    url: str,
    body: str,
    content_type: str,
    *,
    signed_body: str | None = None,
) -> int:
    stamp = int(time.time())
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": sign(body if signed_body is None else signed_body, stamp),
    }
    async with session.post(url, data=body.encode(), headers=headers) as response:
        return response.status


async def test_payforward_run_serves_slack_over_http(tmp_path: Path, fake: FakeSlack) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in PLATFORM_VARIABLES}
    env |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'payforward.db'}",
        "SLACK_BOT_TOKEN": "xoxb-e2e",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.api_url,
        "PAYFORWARD_HTTP_HOST": "127.0.0.1",
        "PAYFORWARD_HTTP_PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        *payforward_command(), "run", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}/slack/events"
    try:
        await wait_listening(port, process)
        async with aiohttp.ClientSession() as session:
            command = payloads.slash(
                "T1", "UALICE", "/ask", "Who knows Alembic?", fake.response_url()
            )
            status = await signed(
                session, url, urllib.parse.urlencode(command), "application/x-www-form-urlencoded"
            )
            assert status == 200
            (card,) = await fake.wait_for("chat.postMessage", lambda c: c.args["channel"] == "C1")
            assert card.token == "xoxb-e2e"

            # The card's ts is stored once its delivery is recorded, just after the fake
            # answered: a reaction before that is on "no ask" and, like Slack, we react anew.
            for _ in range(40):
                reaction = payloads.reaction("T1", "UBOB", "C1", card.result["ts"])
                body = json.dumps(reaction)
                assert await signed(session, url, body, "application/json") == 200
                if await _dm_arrives(fake):
                    break
            (dm,) = fake.of("chat.postMessage")[1:]
            assert "<@UBOB> offered to help" in dm.blocks_text()

            tampered = body.replace("UBOB", "UEVE")
            assert await signed(session, url, tampered, "application/json", signed_body=body) == 401
            await delivered_everything(env["DATABASE_URL"])
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr


async def delivered_everything(database_url: str, within: float = 30.0) -> None:
    """Until the process has recorded every queued message as sent: stopping it then
    tests a quiet shutdown, not a cancellation in the middle of recording a delivery."""
    engine = make_engine(database_url)
    deadline = time.monotonic() + within
    try:
        while True:
            async with unit_of_work_factory(engine)() as uow:
                if await uow.outbox.pending_count() == 0:
                    return
            if time.monotonic() > deadline:
                raise AssertionError("queued messages were never all delivered")
            await asyncio.sleep(0.05)
    finally:
        await engine.dispose()


async def _dm_arrives(fake: FakeSlack) -> bool:
    try:
        await fake.wait_for("chat.postMessage", in_channel("DUALICE"), within=0.25)
    except AssertionError:
        return False
    return True


async def test_payforward_run_serves_slack_in_socket_mode(tmp_path: Path, fake: FakeSlack) -> None:
    env = {k: v for k, v in os.environ.items() if k not in PLATFORM_VARIABLES}
    env |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'payforward.db'}",
        "SLACK_BOT_TOKEN": "xoxb-e2e",
        "SLACK_APP_TOKEN": "xapp-e2e",
        "SLACK_API_URL": fake.api_url,
        "LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        *payforward_command(), "run", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        await fake.wait_for_socket(within=30)
        (opened,) = fake.of("apps.connections.open")
        assert opened.token == "xapp-e2e"
        command = payloads.slash("T1", "UALICE", "/ask", "Who knows Alembic?", fake.response_url())
        await fake.wait_for_ack(await fake.push("slash_commands", command))
        (card,) = await fake.wait_for("chat.postMessage", lambda c: c.args["channel"] == "C1")
        for _ in range(40):
            reaction = payloads.reaction("T1", "UBOB", "C1", card.result["ts"])
            await fake.wait_for_ack(await fake.push("events_api", reaction))
            if await _dm_arrives(fake):
                break
        (dm,) = fake.of("chat.postMessage")[1:]
        assert "<@UBOB> offered to help" in dm.blocks_text()
        await delivered_everything(env["DATABASE_URL"])
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr
