"""The baseline of bench.slack_http: a bare Bolt `AsyncApp` in HTTP mode that acks every
slash command and posts "ok" to its channel, nothing else. It runs in a process of its
own, as payforward does, with the same HTTP server and Web API client set-up.

    python -m bench.bare_slack --port P --api-url URL --secret S
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from adapters.slack.client import make_client
from payforward.bootstrap import tune_garbage_collector


def bare_app(api_url: str, secret: str) -> AsyncApp:
    app = AsyncApp(
        client=make_client("xoxb-bench", api_url),
        signing_secret=secret,
        process_before_response=False,
        logger=logging.getLogger("bench.bare"),
    )

    @app.command(re.compile(r"^/.+"))
    async def ok(ack: Callable[..., Awaitable[None]], body: dict[str, Any], client: Any) -> None:
        await ack()
        await client.chat_postMessage(channel=body["channel_id"], text="ok")

    return app


async def serve(port: int, api_url: str, secret: str) -> None:
    app = bare_app(api_url, secret)

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    async def healthy(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    server = web.Application()
    server.router.add_post("/slack/events", events)
    server.router.add_get("/healthz", healthy)
    runner = web.AppRunner(server, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    tune_garbage_collector()  # as payforward's process does once it has started
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(serve(args.port, args.api_url, args.secret))


if __name__ == "__main__":
    main()
