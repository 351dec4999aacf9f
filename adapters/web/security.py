"""What every dashboard response carries, and what guards its forms and its sign-in.

- Headers: a Content-Security-Policy that allows no script at all and styles only from
  payforward's own stylesheet, no framing, no MIME sniffing, no referrer (a sign-in
  link never leaks in a Referer), and no caching of pages about people.
- Forms: each carries the session's CSRF token (the sign-in form, before any session,
  a token that must match a cookie of its own), compared in constant time.
- Sign-in: a few attempts a minute per client address, counted on the injected clock.
"""

from __future__ import annotations

import hmac
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from aiohttp import web

from bot.ports import Clock

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
STATIC_CACHE = "public, max-age=3600"


def header_hook(prefix: str) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    """aiohttp's on_response_prepare hook, for the dashboard's own paths only: the
    listener it shares also answers Slack and the health checks."""

    async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
        if request.path != prefix and not request.path.startswith(f"{prefix}/"):
            return
        response.headers.update(HEADERS)
        static = request.path.startswith(f"{prefix}/static/")
        response.headers["Cache-Control"] = STATIC_CACHE if static else "no-store"

    return add_headers


def same_token(sent: str | None, expected: str | None) -> bool:
    if not sent or not expected:
        return False
    return hmac.compare_digest(sent.encode(), expected.encode())


class AttemptLimit:
    """At most `per_minute` attempts per key (a client address) in any minute."""

    def __init__(self, clock: Clock, per_minute: int, max_keys: int = 10_000) -> None:
        self._clock = clock
        self._per_minute = per_minute
        self._max_keys = max_keys
        self._seen: dict[str, deque[datetime]] = {}

    def allow(self, key: str) -> bool:
        now = self._clock.now()
        since = now - timedelta(minutes=1)
        if len(self._seen) >= self._max_keys:  # forget the quiet ones
            self._seen = {k: v for k, v in self._seen.items() if v and v[-1] > since}
        times = self._seen.setdefault(key, deque())
        while times and times[0] <= since:
            times.popleft()
        if len(times) >= self._per_minute:
            return False
        times.append(now)
        return True
