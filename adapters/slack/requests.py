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
    problem = shape_problem(bolt.body)
    if problem is not None:
        return _refuse(400, problem, len(raw))
    return bolt


# Objects Bolt reads fields of while it builds a request's context and matches listeners.
_OBJECTS = ("team", "user", "enterprise", "channel", "container", "view", "event", "message")


def shape_problem(body: dict[str, Any]) -> str | None:
    """What Bolt would trip over (a KeyError or TypeError inside its matchers, i.e. a
    500 and a traceback) in a body of a kind this app listens to, else None."""
    for key in _OBJECTS:
        if key in body and not isinstance(body[key], dict):
            return f"{key} is no object"
    kind = body.get("type")
    if "type" in body and not isinstance(kind, str):
        return "type is no string"
    if "command" in body and not isinstance(body["command"], str):
        return "command is no string"
    if kind == "event_callback" and not isinstance(body.get("event", {}).get("type"), str):
        return "an event without a type"
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            return "block_actions without actions"
        for action in actions:
            if not isinstance(action, dict) or not isinstance(action.get("action_id"), str):
                return "an action without an action_id"
            if "block_id" in action and not isinstance(action["block_id"], str):
                return "an action with a block_id that is no string"
    view = body.get("view", {})
    if "view" in body and not isinstance(view.get("type"), str):
        return "a view without a type"
    views = ("view_submission", "view_closed")
    if kind in views and not isinstance(view.get("callback_id"), str):
        return "a view without a callback_id"
    return None


def _headers(request: web.Request) -> dict[str, Any]:
    headers: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        headers.setdefault(name.lower(), []).append(value)
    return headers
