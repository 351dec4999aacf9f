"""payforward's one HTTP listener, on PAYFORWARD_HTTP_HOST:PAYFORWARD_HTTP_PORT.

Every mode serves the same aiohttp application: the operator's routes (`/healthz`,
`/readyz`, `/metrics`), Slack's in HTTP mode, and whatever else is mounted (the web
dashboard). Parts add their routes to `app` before `start`; aiohttp freezes the router
when the server starts.
"""

from __future__ import annotations

import logging

from aiohttp import web

log = logging.getLogger(__name__)


class HttpServer:
    """One aiohttp application and the site that serves it."""

    def __init__(self, host: str, port: int) -> None:
        self.app = web.Application()
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        """The port actually bound (PAYFORWARD_HTTP_PORT=0 picks a free one)."""
        if self._runner is None or not self._runner.addresses:
            return self._port
        return int(self._runner.addresses[0][1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    async def start(self) -> None:
        """Listen; an address already in use fails here, as an OSError."""
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, self._host, self._port).start()
        except OSError as error:
            await runner.cleanup()
            raise ListenError(
                f"cannot listen on {self._host}:{self._port} ({error.strerror or error}); "
                "set PAYFORWARD_HTTP_HOST / PAYFORWARD_HTTP_PORT"
            ) from None
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        log.info("HTTP: listening on %s (/healthz, /readyz, /metrics)", self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class ListenError(RuntimeError):
    """The listener could not bind its address (in use, or not allowed)."""
