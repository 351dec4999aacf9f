"""The platforms' rate limits, enforced by the loopback fakes for the benchmarks.

Slack (`SlackCeilings`, FakeSlack's `admit`): per workspace and method a ceiling for
`chat.postMessage` (a parameter: Slack puts no number on it) and Tier 3 for
`chat.update`; per channel about one message a second with short bursts; beyond
either, 429 with Retry-After. Discord (`DiscordLimits`, FakeDiscord's `limits`): 50
requests a second for the bot, per-route buckets (5 messages per 5 s per channel,
opening DMs 50 a second) told in the documented X-RateLimit-* headers; beyond, 429
with `retry_after` and the scope.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.adapters.slack.fake_slack import Call

Clock = Callable[[], float]


@dataclass
class Bucket:
    """`rate` a second with `burst` saved up."""

    rate: float
    burst: float
    tokens: float = -1.0
    stamp: float = 0.0

    def wait(self, now: float) -> float:
        """0 when a request may go now (and spends a token), else the seconds to wait."""
        if self.tokens < 0:
            self.tokens, self.stamp = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


@dataclass
class SlackCeilings:
    """What Slack allows one app, per workspace; the workspace is told by the token."""

    post_rate: float  # chat.postMessage per workspace, a second
    channel_rate: float = 1.0
    channel_burst: float = 3.0
    update_rate: float = 50 / 60  # Tier 3
    team_of: Callable[[str | None], str] = lambda token: "T1"
    clock: Clock = time.monotonic
    accepted: Counter[str] = field(default_factory=Counter)  # by workspace
    refused: Counter[str] = field(default_factory=Counter)
    _buckets: dict[tuple[str, ...], Bucket] = field(default_factory=dict)

    @property
    def ceiling(self) -> float:
        """chat.postMessage a second for every workspace that has posted."""
        return self.post_rate * len(set(self.accepted) | set(self.refused))

    def __call__(self, call: Call) -> float | None:
        if call.method not in ("chat.postMessage", "chat.update"):
            return None
        team = self.team_of(call.token)
        now = self.clock()
        rate = self.post_rate if call.method == "chat.postMessage" else self.update_rate
        workspace = self._bucket((team, call.method), rate, max(1.0, rate))
        channel = self._bucket(
            (team, "channel", str(call.args.get("channel"))), self.channel_rate, self.channel_burst
        )
        wait = max(workspace.wait(now), channel.wait(now))
        if wait > 0:
            self.refused[team] += 1
            return wait
        self.accepted[team] += 1
        return None

    def _bucket(self, key: tuple[str, ...], rate: float, burst: float) -> Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(rate, burst)
        return bucket


@dataclass
class _Window:
    """A route bucket as Discord describes it: `limit` requests per `per` seconds."""

    limit: int
    per: float
    used: int = 0
    resets: float = 0.0


@dataclass
class DiscordLimits:
    """Discord's global limit and per-route buckets for a bot's REST calls."""

    global_rate: float = 50.0
    clock: Clock = time.monotonic
    throttled: Counter[str] = field(default_factory=Counter)  # 429s by scope
    requests: int = 0
    _global: Bucket | None = None
    _routes: dict[str, _Window] = field(default_factory=dict)

    def __call__(self, method: str, path: str) -> tuple[dict[str, Any] | None, dict[str, str]]:
        if path.startswith(("/interactions/", "/webhooks/")):
            return None, {}  # interaction responses are not the bot's to limit
        now = self.clock()
        if self._global is None:
            self._global = Bucket(self.global_rate, self.global_rate)
        bucket, limit, per = self._route(method, path)
        window = self._routes.setdefault(bucket, _Window(limit, per))
        if now >= window.resets:
            window.used, window.resets = 0, now + per
        if window.used >= window.limit:
            self.throttled["user"] += 1
            return self._refused(window.resets - now, "user", window, bucket, now)
        wait = self._global.wait(now)
        if wait > 0:
            self.throttled["global"] += 1
            return self._refused(wait, "global", window, bucket, now)
        window.used += 1
        self.requests += 1
        return None, self._headers(window, bucket, now)

    def _route(self, method: str, path: str) -> tuple[str, int, float]:
        parts = path.strip("/").split("/")
        if parts[:1] == ["channels"] and len(parts) >= 3 and parts[2] == "messages":
            return f"messages:{parts[1]}", 5, 5.0
        if path == "/users/@me/channels":
            return "dm-open", 50, 1.0
        return f"{method}:{path}", 50, 1.0

    def _headers(self, window: _Window, bucket: str, now: float) -> dict[str, str]:
        reset_after = max(0.0, window.resets - now)
        return {
            "X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Remaining": str(window.limit - window.used),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket,
        }

    def _refused(
        self, wait: float, scope: str, window: _Window, bucket: str, now: float
    ) -> tuple[dict[str, Any], dict[str, str]]:
        retry_after = round(max(wait, 0.001), 3)
        headers = {
            "Retry-After": str(math.ceil(retry_after)),
            "X-RateLimit-Scope": scope,
        }
        if scope == "global":
            headers["X-RateLimit-Global"] = "true"
        else:
            headers |= self._headers(window, bucket, now)
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": scope == "global",
        }
        return body, headers
