"""payforward's one HTTP listener, on PAYFORWARD_HTTP_HOST:PAYFORWARD_HTTP_PORT.

Every mode serves the same aiohttp application: the operator's routes (`/healthz`,
`/readyz`, `/metrics`), Slack's in HTTP mode, and whatever else is mounted (the web
dashboard). Parts add their routes to `app` before `start`; aiohttp freezes the router
when the server starts.
"""

from __future__ import annotations

import socket

from aiohttp import web


class HttpServer:
    """One aiohttp application and the site that serves it."""

    def __init__(self, host: str, port: int) -> None:
        self.app = web.Application()
        self._host = host
        self._port = port
        self._socket: socket.socket | None = None
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        """The port actually bound (PAYFORWARD_HTTP_PORT=0 picks a free one)."""
        if self._socket is None:
            return self._port
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    def bind(self) -> None:
        """Take the address now, before routes are added, so that what links to the
        listener (the dashboard's sign-in links) knows its port. `ListenError` when the
        address is in use or not allowed."""
        if self._socket is not None:
            return
        try:
            family = socket.getaddrinfo(self._host, self._port, type=socket.SOCK_STREAM)[0][0]
            self._socket = socket.create_server((self._host, self._port), family=family)
        except OSError as error:
            raise ListenError(
                f"cannot listen on {self._host}:{self._port} ({error.strerror or error}); "
                "set PAYFORWARD_HTTP_HOST / PAYFORWARD_HTTP_PORT"
            ) from None

    async def start(self) -> None:
        """Serve on the bound address (binding it first if need be)."""
        self.bind()
        assert self._socket is not None
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await web.SockSite(runner, self._socket).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None


class ListenError(RuntimeError):
    """The listener could not bind its address (in use, or not allowed)."""
