"""The operator's routes on the HTTP listener: `/healthz`, `/readyz`, `/metrics`.

`/healthz` says the process is alive (a load balancer's liveness check). `/readyz` says
it can do its work: the database answers and every platform adapter is connected;
otherwise 503 with a short reason. `/metrics` is the Prometheus text format, with the
outbox gauges read from the database at scrape time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.ports import ChatAdapter, Clock
from payforward.metrics import CONTENT_TYPE, Metrics
from storage.gauges import database_reachable, outbox_gauges

log = logging.getLogger(__name__)

DATABASE_CHECK_SECONDS = 3.0


class Operations:
    def __init__(
        self,
        engine: AsyncEngine,
        adapters: Mapping[str, ChatAdapter],
        metrics: Metrics,
        clock: Clock,
    ) -> None:
        self._engine = engine
        self._adapters = adapters
        self._metrics = metrics
        self._clock = clock

    def install(self, app: web.Application) -> None:
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics)

    async def healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(self, request: web.Request) -> web.Response:
        problems = []
        try:
            async with asyncio.timeout(DATABASE_CHECK_SECONDS):
                await database_reachable(self._engine)
        except Exception as error:
            problems.append(f"database unreachable ({type(error).__name__})")
        problems += [
            f"{platform} not connected"
            for platform, adapter in self._adapters.items()
            if not adapter.connected
        ]
        if problems:
            return web.Response(status=503, text="not ready: " + "; ".join(problems) + "\n")
        return web.Response(text="ready\n")

    async def metrics(self, request: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(DATABASE_CHECK_SECONDS):
                gauges = await outbox_gauges(self._engine, self._clock.now())
        except Exception as error:  # the counters are still worth serving
            log.warning("metrics: could not read the outbox (%s)", type(error).__name__)
        else:
            self._metrics.set_outbox(gauges)
        self._metrics.set_connected(
            {platform: adapter.connected for platform, adapter in self._adapters.items()}
        )
        return web.Response(body=self._metrics.render(), headers={"Content-Type": CONTENT_TYPE})
