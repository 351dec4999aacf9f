"""An HTTP request from Slack, checked before Bolt sees it.

Bolt verifies signatures too, but only after parsing the body, and a refusal logs
the whole body at INFO: a body that is not UTF-8 or not JSON became a 500 with a
traceback, a timestamp of `abc` a ValueError, and twenty unsigned 1 MB requests
twenty megabytes of log. Here each is refused with a 4xx and one short log line
(the reason and the size, never the body): not UTF-8 (400), no valid signature or
a stale or non-numeric timestamp (401), a body that is no JSON object or form (400).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from aiohttp import web
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)

MAX_AGE = 60 * 5  # Slack's own limit on a request's age, in seconds


def _refuse(status: int, reason: str, size: int) -> web.Response:
    log.info("refused a Slack request: %s (%d bytes)", reason, size)
    return web.Response(status=status, text=reason)


def _fresh(timestamp: str) -> bool:
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return False
    return abs(time.time() - int(timestamp)) <= MAX_AGE


async def bolt_request(
    request: web.Request, verifier: SignatureVerifier | None
) -> AsyncBoltRequest | web.Response:
    """The request for Bolt, or the refusal to answer with. `verifier` is None in
    Socket Mode, where requests do not come over HTTP at all."""
    raw = await request.read()  # aiohttp refuses bodies over 1 MB with a 413 itself
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _refuse(400, "the body is not UTF-8", len(raw))
    if verifier is not None:
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not _fresh(timestamp) or not verifier.is_valid(body, timestamp, signature):
            return _refuse(401, "no valid signature", len(raw))
    try:
        bolt = AsyncBoltRequest(body=body, query=request.query_string, headers=_headers(request))
    except (ValueError, TypeError, AttributeError, KeyError):
        return _refuse(400, "the body is no JSON object or form", len(raw))
    if not isinstance(bolt.body, dict):
        return _refuse(400, "the body is no JSON object or form", len(raw))
    return bolt


def _headers(request: web.Request) -> dict[str, Any]:
    headers: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        headers.setdefault(name.lower(), []).append(value)
    return headers
